// Fingerprints of blocks read twice: a block checked against its CID when it
// is first read is fingerprinted (XXH3-64), and a second read of it is
// checked against that fingerprint instead of hashed with SHA-256 again,
// some thirty times cheaper. Not a commitment to the bytes against anyone
// hostile (XXH3 is not a cryptographic hash): it catches a file changed
// between two reads of one process, which is what it is for.
//
// The XXH3 of libxxhash as Debian builds it uses SSE2 only; where the CPU has
// AVX-512 (sha_x16::available(), so CODEX_NO_AVX512 turns it off too) or
// AVX2, the same function compiled for them is used (three times faster on
// blocks in cache). The value is the same either way.
#pragma once

#include <cstdint>

#include "codex/bytes.hpp"

namespace codex {

std::uint64_t block_fingerprint(ByteView data);

namespace fingerprint_detail {
// XXH3_64bits compiled for AVX2 and for AVX-512 (fingerprint_avx2.cpp,
// fingerprint_avx512.cpp); null where the compiler cannot build them.
using Function = std::uint64_t (*)(const void*, std::size_t);
extern const Function avx2;
extern const Function avx512;
}  // namespace fingerprint_detail

}  // namespace codex
