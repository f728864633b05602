// XXH3-64 compiled for AVX-512 (see fingerprint.hpp): libxxhash's own code,
// included inline with every function of this file built for AVX-512. Called
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
#pragma GCC target("avx2,avx512f,avx512bw")
// GCC 12's AVX-512 headers warn about their own placeholder operands
// (-Wuninitialized, GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX512
#include <xxhash.h>

namespace {
std::uint64_t xxh3_avx512(const void* data, std::size_t size) { return XXH3_64bits(data, size); }
}  // namespace
#pragma GCC diagnostic pop
#pragma GCC pop_options

const codex::fingerprint_detail::Function codex::fingerprint_detail::avx512 = xxh3_avx512;
#else
const codex::fingerprint_detail::Function codex::fingerprint_detail::avx512 = nullptr;
#endif
