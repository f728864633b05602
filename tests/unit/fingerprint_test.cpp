// Block fingerprints (libcore/src/fingerprint.hpp) are libxxhash's XXH3-64,
// whichever build of it runs: the AVX-512 and AVX2 ones where the CPU has
// them, checked here against the library at every length around XXH3's
// internal boundaries (16, 128, 240 bytes, its 1 KiB stripes and blocks) and
// at block sizes, from unaligned addresses.
#include "fingerprint.hpp"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <random>

namespace codex {
namespace {

Bytes random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

bool cpu_has(const char* feature) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (std::string(feature) == "avx2") return __builtin_cpu_supports("avx2");
  if (std::string(feature) == "avx512") return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
  return false;
}

}  // namespace

TEST(Fingerprint, IsXxh3OfTheLibraryAtEveryBuild) {
  const Bytes data = random_bytes(65536 * 2 + 64, 9);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 260; ++n) lengths.push_back(n);
  for (std::size_t n : {1023, 1024, 1025, 2047, 2048, 4096, 65535, 65536, 65537, 131072}) lengths.push_back(n);
  struct Build {
    const char* name;
    fingerprint_detail::Function function;
    bool usable;
  };
  for (const Build build : {Build{"chosen", nullptr, true}, Build{"avx2", fingerprint_detail::avx2, cpu_has("avx2")},
                            Build{"avx512", fingerprint_detail::avx512, cpu_has("avx512")}}) {
    if (!build.usable || (build.function == nullptr && std::string(build.name) != "chosen")) continue;
    for (std::size_t n : lengths)
      for (std::size_t shift : {0, 3}) {
        const ByteView input(data.data() + shift, n);
        const std::uint64_t got =
            build.function ? build.function(input.data(), input.size()) : block_fingerprint(input);
        ASSERT_EQ(got, XXH3_64bits(input.data(), input.size())) << build.name << " length " << n << " shift " << shift;
      }
  }
}

}  // namespace codex
