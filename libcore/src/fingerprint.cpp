// Block fingerprints; see fingerprint.hpp.
#include "fingerprint.hpp"

#include <xxhash.h>

#include "sha256_x16.hpp"

namespace codex {
namespace {

std::uint64_t with_library(const void* data, std::size_t size) { return XXH3_64bits(data, size); }

fingerprint_detail::Function choose() {
  using namespace fingerprint_detail;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (avx512 != nullptr && sha_x16::available()) return avx512;
  if (avx2 != nullptr && __builtin_cpu_supports("avx2")) return avx2;
#endif
  return with_library;
}

}  // namespace

std::uint64_t block_fingerprint(ByteView data) {
  static const fingerprint_detail::Function function = choose();
  return function(data.data(), data.size());
}

}  // namespace codex
