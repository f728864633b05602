// XXH3-64 compiled for AVX2 (see fingerprint.hpp): libxxhash's own code,
// included inline with every function of this file built for AVX2. Called
// only where the CPU has it. GCC only (its target pragma); elsewhere the
// library's build is used.
#include "fingerprint.hpp"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// Every header xxhash.h includes comes first, outside the target pragma, so
// that only this file's own (static) functions are built for the wider
// instruction set: an inline function of a shared header built here could
// otherwise be the copy the linker keeps for the whole program.
#include <assert.h>
#include <immintrin.h>
#include <limits.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC push_options
#pragma GCC target("avx2")
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

namespace {
std::uint64_t xxh3_avx2(const void* data, std::size_t size) { return XXH3_64bits(data, size); }
}  // namespace
#pragma GCC pop_options

const codex::fingerprint_detail::Function codex::fingerprint_detail::avx2 = xxh3_avx2;
#else
const codex::fingerprint_detail::Function codex::fingerprint_detail::avx2 = nullptr;
#endif
