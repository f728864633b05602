// The liberasurecode plumbing behind ErasureCoder (internal to libcore and its
// tests). Two engines code a group:
//
//  - backend_calls: calls the backend's encode/decode stubs straight on the
//    caller's blocks, the way liberasurecode_encode itself does after copying
//    them. No copies, no headers, no per-call buffers: ISA-L encodes cached
//    blocks at ~35 GB/s here (K=4 M=2). It reads `struct ec_backend` from
//    erasurecode_backend.h, so it is used only when the library at run time
//    is the version we compiled against.
//  - fragments: the documented API (liberasurecode_encode and
//    liberasurecode_reconstruct_fragment on header-prefixed copies). Slower,
//    used when the versions differ; also the reference the tests compare with.
//
// Both produce the same bytes as liberasurecode_encode (tested).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>

#include <erasurecode.h>

#include "codex/error.hpp"

namespace codex::erasure_internal {

struct Backend {
  const char* name;
  ec_backend_id_t id;
};

// Fastest first.
std::span<const Backend> backend_table();
const Backend* find_backend(std::string_view name);
// liberasurecode_backend_available, asked once per process.
bool backend_loads(const Backend& backend);

// "-206 EINVALIDPARAMS (invalid parameters)".
std::string describe_liberasurecode_error(int rc);

// What liberasurecode 1.6.2 leaves to its callers to serialise:
//  - its API looks every descriptor up in a list that creating and destroying
//    instances modify, without a lock: creation and destruction take this
//    mutex exclusively, every other API call shared;
//  - jerasure and liberasurecode_rs_vand keep global tables (gf-complete's
//    fields, Galois log tables) that their instances rebuild on creation and
//    free on destruction, under coders of other threads (helgrind and valgrind
//    show both): their instances are pooled per geometry and never destroyed,
//    and every call on them takes the mutex exclusively. ISA-L keeps nothing
//    global, so the backend_calls engine calls it without any lock.
std::shared_mutex& liberasurecode_mutex();

// Holds liberasurecode_mutex() shared, exclusively, or not at all.
class CallLock {
 public:
  enum class Mode { none, shared, exclusive };
  explicit CallLock(Mode mode);
  ~CallLock();
  CallLock(const CallLock&) = delete;
  CallLock& operator=(const CallLock&) = delete;

 private:
  Mode mode_;
};

// One liberasurecode instance (ec_args: k, m, hd = m, CHKSUM_NONE), pooled
// and shared as above for the backends with global state.
class Instance {
 public:
  // Errc::usage when liberasurecode refuses the geometry, with its error code.
  static Result<Instance> create(const Backend& backend, std::uint32_t k, std::uint32_t m);
  Instance(Instance&& other) noexcept;
  Instance& operator=(Instance&& other) noexcept;
  ~Instance();

  int descriptor() const { return descriptor_; }
  bool pooled() const { return pooled_; }
  // Held around each liberasurecode API call with descriptor().
  CallLock lock_for_api() const;
  // Held around each direct call of the backend's stubs.
  CallLock lock_for_backend() const;

 private:
  Instance(int descriptor, bool pooled) : descriptor_(descriptor), pooled_(pooled) {}
  int descriptor_ = -1;
  bool pooled_ = false;
};

// Call after every call into a backend. ISA-L's AVX-512 code returns with
// the upper halves of the vector registers dirty; until a vzeroupper, legacy
// SSE code pays for it: here (AMD Zen 5) jerasure ran 3x slower and OpenSSL's
// SHA-256 about 20% slower after a single ISA-L encode.
void clear_upper_vector_state();

struct Geometry {
  const Backend* backend = nullptr;
  std::uint32_t k = 0;
  std::uint32_t m = 0;
  std::size_t block_size = 0;
};

class CodingEngine {
 public:
  virtual ~CodingEngine() = default;
  virtual const char* kind() const = 0;
  // data: k blocks; parity: m blocks to fill. Outputs must not alias inputs.
  virtual Status encode(const std::uint8_t* const* data, std::uint8_t* const* parity) = 0;
  // rows: k+m pointers, nullptr for a missing row, at least k present. Each
  // missing row r with out[r] != nullptr receives its block.
  virtual Status rebuild(const std::uint8_t* const* rows, std::uint8_t* const* out) = 0;
};

enum class EngineKind { automatic, backend_calls, fragments };

// True when the liberasurecode loaded at run time is the one whose
// erasurecode_backend.h we compiled against.
bool backend_calls_supported();

// Creates the instance, checks that block_size suits the backend (Errc::usage
// naming the multiple it needs) and opens the engine; automatic picks
// backend_calls when supported.
Result<std::unique_ptr<CodingEngine>> open_engine(const Geometry& geometry, EngineKind kind);

// The engines (erasure_backend_calls.cpp, erasure_fragments.cpp).
Result<std::unique_ptr<CodingEngine>> open_backend_calls_engine(Instance instance,
                                                                const Geometry& geometry);
Result<std::unique_ptr<CodingEngine>> open_fragments_engine(Instance instance,
                                                            const Geometry& geometry);

}  // namespace codex::erasure_internal
