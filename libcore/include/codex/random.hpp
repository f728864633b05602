// Randomness behind one narrow interface. Whatever must be unpredictable
// (storage-proof challenges, the sample an audit hashes, key material) comes
// from the OS's CSPRNG through OpenSSL's RAND_bytes (system_random()); code
// that must repeat itself (tests, the simulator, a run repeated with --seed)
// passes a SeededRandom instead. Nothing in libcore seeds a generator from
// the clock or from 32 bits of std::random_device.
#pragma once

#include <cstdint>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` entirely, or fails (Errc::failure: the CSPRNG is unusable).
  virtual Status fill(MutableByteView out) = 0;
  Result<std::uint64_t> next_u64();
  Result<Bytes> bytes(std::size_t count);
};

// The process's CSPRNG (OpenSSL RAND_bytes, seeded by the OS); thread-safe.
Random& system_random();

// A deterministic stream from a 64-bit seed (SplitMix64), the same on every
// platform. Predictable by design: never for challenges a peer must not guess.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  Status fill(MutableByteView out) override;

 private:
  std::uint64_t state_;
};

}  // namespace codex
