// What every fuzz harness shares: the libFuzzer entry point's signature, and
// a property check that aborts (so libFuzzer, and the replay tests, report
// the input) when a decoder breaks a promise. Harnesses check properties,
// not only crashes: what decodes must re-encode or print and read back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "codex/bytes.hpp"

#define CODEX_FUZZ_CHECK(condition)                                                                  \
  do {                                                                                               \
    if (!(condition)) {                                                                              \
      std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__);  \
      std::abort();                                                                                  \
    }                                                                                                \
  } while (0)

#define CODEX_FUZZ_TARGET                                                             \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size); \
  static void fuzz_one(codex::ByteView input);                                        \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
    fuzz_one(codex::ByteView(data, size));                                            \
    return 0;                                                                         \
  }                                                                                   \
  static void fuzz_one(codex::ByteView input)

inline std::string_view as_text(codex::ByteView bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
