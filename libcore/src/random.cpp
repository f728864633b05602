// The CSPRNG and the seeded generator; see random.hpp.
#include "codex/random.hpp"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <climits>
#include <cstring>

namespace codex {

Result<std::uint64_t> Random::next_u64() {
  std::uint8_t bytes[8];
  CODEX_TRY(fill(MutableByteView(bytes, sizeof bytes)));
  std::uint64_t value = 0;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

Result<Bytes> Random::bytes(std::size_t count) {
  Bytes out(count);
  CODEX_TRY(fill(out));
  return out;
}

namespace {

class SystemRandom final : public Random {
 public:
  Status fill(MutableByteView out) override {
    std::size_t done = 0;
    while (done < out.size()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(out.size() - done, INT_MAX));
      if (RAND_bytes(out.data() + done, chunk) != 1)
        return make_error(Errc::failure, "the system's random number generator failed (OpenSSL error {:#x})",
                          ERR_get_error());
      done += static_cast<std::size_t>(chunk);
    }
    return {};
  }
};

}  // namespace

Random& system_random() {
  static SystemRandom random;
  return random;
}

Status SeededRandom::fill(MutableByteView out) {
  for (std::size_t i = 0; i < out.size(); i += 8) {
    // SplitMix64 (Steele, Lea, Flood 2014).
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (std::size_t j = 0; j < 8 && i + j < out.size(); ++j) out[i + j] = static_cast<std::uint8_t>(z >> (8 * j));
  }
  return {};
}

}  // namespace codex
