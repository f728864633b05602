// SHA-256 compression on the SHA-NI instructions; see sha256_ni.hpp.
//
// The state lives in two registers in the order the instructions want
// (ABEF and CDGH). Each call to `rounds` runs the 64 rounds over one 64-byte
// chunk, four rounds per step: the message schedule (sha256msg1/msg2) makes
// the next four words from the last sixteen, and two sha256rnds2 do two
// rounds each. The two-message variant runs the same steps for both states
// side by side, so that one message's rounds fill the other's latency.
//
// Everything is compiled for the SHA extensions through target attributes, so
// the rest of the library needs no special flags; available() is checked
// before any of it runs.
#include "sha256_ni.hpp"
#include "sha256_constants.hpp"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define CODEX_HAVE_SHA_NI 1
#endif

namespace codex::sha_ni {

#if CODEX_HAVE_SHA_NI
namespace {

using sha256_constants::kInitial;
using sha256_constants::kRound;

#define CODEX_SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

struct State {
  __m128i abef, cdgh;
};

// Big-endian 32-bit words from memory.
CODEX_SHA_TARGET inline __m128i load_words(const std::uint8_t* p) {
  const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  return _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), swap);
}

// Words t .. t+3 of the schedule from w[t-16 .. t-1], held in four registers
// w0 (oldest) .. w3.
CODEX_SHA_TARGET inline __m128i next_words(__m128i w0, __m128i w1, __m128i w2, __m128i w3) {
  return _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4)), w3);
}

// Four rounds with the words w (already scheduled) and their constants.
CODEX_SHA_TARGET inline void four_rounds(State& s, __m128i w, int step) {
  __m128i m = _mm_add_epi32(w, _mm_load_si128(reinterpret_cast<const __m128i*>(kRound + 4 * step)));
  s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, m);
  s.abef = _mm_sha256rnds2_epu32(s.abef, s.cdgh, _mm_shuffle_epi32(m, 0x0E));
}

// The states are passed and returned by value: through references the
// compiler must assume two states may alias and stores them after every step.
CODEX_SHA_TARGET inline State rounds(State s, const std::uint8_t* chunk) {
  const State start = s;
  __m128i w[4];
#pragma GCC unroll 16
  for (int step = 0; step < 16; ++step) {
    const int i = step % 4;
    w[i] = step < 4 ? load_words(chunk + 16 * step) : next_words(w[i], w[(i + 1) % 4], w[(i + 2) % 4], w[(i + 3) % 4]);
    four_rounds(s, w[i], step);
  }
  return {_mm_add_epi32(s.abef, start.abef), _mm_add_epi32(s.cdgh, start.cdgh)};
}

struct Pair {
  State a, b;
};

CODEX_SHA_TARGET inline Pair rounds_x2(Pair s, const std::uint8_t* chunk_a, const std::uint8_t* chunk_b) {
  const Pair start = s;
  __m128i wa[4], wb[4];
#pragma GCC unroll 16
  for (int step = 0; step < 16; ++step) {
    const int i = step % 4;
    if (step < 4) {
      wa[i] = load_words(chunk_a + 16 * step);
      wb[i] = load_words(chunk_b + 16 * step);
    } else {
      wa[i] = next_words(wa[i], wa[(i + 1) % 4], wa[(i + 2) % 4], wa[(i + 3) % 4]);
      wb[i] = next_words(wb[i], wb[(i + 1) % 4], wb[(i + 2) % 4], wb[(i + 3) % 4]);
    }
    four_rounds(s.a, wa[i], step);
    four_rounds(s.b, wb[i], step);
  }
  s.a = {_mm_add_epi32(s.a.abef, start.a.abef), _mm_add_epi32(s.a.cdgh, start.a.cdgh)};
  s.b = {_mm_add_epi32(s.b.abef, start.b.abef), _mm_add_epi32(s.b.cdgh, start.b.cdgh)};
  return s;
}

CODEX_SHA_TARGET State initial_state() {
  __m128i dcba = _mm_load_si128(reinterpret_cast<const __m128i*>(kInitial));
  __m128i hgfe = _mm_load_si128(reinterpret_cast<const __m128i*>(kInitial + 4));
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  return {_mm_alignr_epi8(cdab, efgh, 8), _mm_blend_epi16(efgh, cdab, 0xF0)};
}

CODEX_SHA_TARGET void store_digest(const State& s, std::uint8_t* out) {
  __m128i feba = _mm_shuffle_epi32(s.abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(s.cdgh, 0xB1);
  __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0);
  __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
  const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_shuffle_epi8(dcba, swap));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_shuffle_epi8(hgfe, swap));
}

// The last bytes of a message (fewer than 64) with SHA-256's padding: 0x80,
// zeros, the length in bits; one or two chunks. Returns their byte count.
std::size_t pad_tail(const std::uint8_t* tail, std::size_t message_size, std::uint8_t (&out)[128]) {
  const std::size_t rest = message_size % 64;
  std::memset(out, 0, sizeof out);
  if (rest > 0) std::memcpy(out, tail, rest);
  out[rest] = 0x80;
  const std::size_t size = rest + 1 + 8 <= 64 ? 64 : 128;
  const std::uint64_t bits = static_cast<std::uint64_t>(message_size) * 8;
  for (int i = 0; i < 8; ++i) out[size - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
  return size;
}

bool cpu_has_sha_ni() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool ssse3 = ecx & (1u << 9), sse41 = ecx & (1u << 19);
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool sha = ebx & (1u << 29);
  return ssse3 && sse41 && sha;
}

}  // namespace

bool available() {
  static const bool has = cpu_has_sha_ni();
  return has;
}

CODEX_SHA_TARGET void digest(const std::uint8_t* data, std::size_t size, std::uint8_t* out) {
  State s = initial_state();
  const std::size_t whole = size / 64;
  for (std::size_t i = 0; i < whole; ++i) s = rounds(s, data + 64 * i);
  std::uint8_t tail[128];
  const std::size_t tail_size = pad_tail(data + 64 * whole, size, tail);
  for (std::size_t at = 0; at < tail_size; at += 64) s = rounds(s, tail + at);
  store_digest(s, out);
}

CODEX_SHA_TARGET void digest_x2(const std::uint8_t* a, const std::uint8_t* b, std::size_t size,
                                std::uint8_t* out_a, std::uint8_t* out_b) {
  Pair s{initial_state(), initial_state()};
  const std::size_t whole = size / 64;
  for (std::size_t i = 0; i < whole; ++i) s = rounds_x2(s, a + 64 * i, b + 64 * i);
  std::uint8_t tail_a[128], tail_b[128];
  const std::size_t tail_size = pad_tail(a + 64 * whole, size, tail_a);
  pad_tail(b + 64 * whole, size, tail_b);
  for (std::size_t at = 0; at < tail_size; at += 64) s = rounds_x2(s, tail_a + at, tail_b + at);
  store_digest(s.a, out_a);
  store_digest(s.b, out_b);
}

#else  // no SHA-NI on this architecture or compiler: sha256.cpp uses OpenSSL

bool available() { return false; }
void digest(const std::uint8_t*, std::size_t, std::uint8_t*) { std::abort(); }
void digest_x2(const std::uint8_t*, const std::uint8_t*, std::size_t, std::uint8_t*, std::uint8_t*) {
  std::abort();
}

#endif

}  // namespace codex::sha_ni
