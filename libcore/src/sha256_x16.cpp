// Sixteen SHA-256 digests at once on AVX-512; see sha256_x16.hpp.
//
// The eight state words (a..h) are eight vectors, lane j holding message j's
// word. Each 64-byte chunk of the sixteen messages is loaded as sixteen
// vectors (one message each), byte-swapped to big-endian words and transposed
// so that vector t holds word t of every message; the 64 rounds are then
// FIPS 180-4's formulas on vectors: rotations are vprord, the three-input
// functions (Ch, Maj, the XOR of three rotations) one vpternlogd each.
//
// Compiled for AVX-512 through target attributes, so the rest of the library
// needs no special flags; available() is checked before any of it runs.
#include "sha256_x16.hpp"
#include "sha256_constants.hpp"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
// GCC 12's AVX-512 headers warn about their own placeholder operands
// (-Wuninitialized, GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define CODEX_HAVE_X16 1
#endif

namespace codex::sha_x16 {

#if CODEX_HAVE_X16
namespace {

using sha256_constants::kInitial;
using sha256_constants::kRound;

#define CODEX_X16_TARGET __attribute__((target("avx512f,avx512bw")))

// vpternlogd truth tables: three-way XOR, choose (x ? y : z), majority.
constexpr int kXor3 = 0x96, kChoose = 0xCA, kMajority = 0xE8;

template <int imm>
CODEX_X16_TARGET inline __m512i ternary(__m512i x, __m512i y, __m512i z) {
  return _mm512_ternarylogic_epi32(x, y, z, imm);
}

// ror(x, a) ^ ror(x, b) ^ ror(x, c): the Σ functions of the rounds.
template <int a, int b, int c>
CODEX_X16_TARGET inline __m512i big_sigma(__m512i x) {
  return ternary<kXor3>(_mm512_ror_epi32(x, a), _mm512_ror_epi32(x, b), _mm512_ror_epi32(x, c));
}

// ror(x, a) ^ ror(x, b) ^ (x >> c): the σ functions of the message schedule.
template <int a, int b, int c>
CODEX_X16_TARGET inline __m512i small_sigma(__m512i x) {
  return ternary<kXor3>(_mm512_ror_epi32(x, a), _mm512_ror_epi32(x, b), _mm512_srli_epi32(x, c));
}

CODEX_X16_TARGET inline __m512i add(__m512i x, __m512i y) { return _mm512_add_epi32(x, y); }

// The 64-byte chunk at `offset` of every message, as sixteen vectors of
// words: w[t] lane j = big-endian word t of message j. A 16 x 16 transpose
// of 32-bit words in three steps: within 128-bit lanes (unpack 32, unpack
// 64), then the 128-bit lanes themselves (two permutes).
CODEX_X16_TARGET void load_words(const std::uint8_t* const (&messages)[kLanes], std::size_t offset, __m512i (&w)[16]) {
  const __m512i swap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
  __m512i r[16], t[16];
  for (int j = 0; j < 16; ++j) r[j] = _mm512_shuffle_epi8(_mm512_loadu_si512(messages[j] + offset), swap);
  for (int j = 0; j < 16; j += 2) {
    t[j] = _mm512_unpacklo_epi32(r[j], r[j + 1]);
    t[j + 1] = _mm512_unpackhi_epi32(r[j], r[j + 1]);
  }
  // r[4g + i], 128-bit lane L: word 4L + i of messages 4g .. 4g + 3.
  for (int j = 0; j < 16; j += 4) {
    r[j] = _mm512_unpacklo_epi64(t[j], t[j + 2]);
    r[j + 1] = _mm512_unpackhi_epi64(t[j], t[j + 2]);
    r[j + 2] = _mm512_unpacklo_epi64(t[j + 1], t[j + 3]);
    r[j + 3] = _mm512_unpackhi_epi64(t[j + 1], t[j + 3]);
  }
  // For each i, the 128-bit lanes L of r[i], r[4 + i], r[8 + i], r[12 + i]
  // (messages 0-3, 4-7, 8-11, 12-15) become vector w[4L + i].
  const __m512i pair_low = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);    // lanes A0 B0 A1 B1
  const __m512i pair_high = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);  // lanes A2 B2 A3 B3
  const __m512i half_low = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);     // X0 X1 Y0 Y1
  const __m512i half_high = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);  // X2 X3 Y2 Y3
  for (int i = 0; i < 4; ++i) {
    const __m512i ab01 = _mm512_permutex2var_epi64(r[i], pair_low, r[4 + i]);
    const __m512i ab23 = _mm512_permutex2var_epi64(r[i], pair_high, r[4 + i]);
    const __m512i cd01 = _mm512_permutex2var_epi64(r[8 + i], pair_low, r[12 + i]);
    const __m512i cd23 = _mm512_permutex2var_epi64(r[8 + i], pair_high, r[12 + i]);
    w[i] = _mm512_permutex2var_epi64(ab01, half_low, cd01);
    w[4 + i] = _mm512_permutex2var_epi64(ab01, half_high, cd01);
    w[8 + i] = _mm512_permutex2var_epi64(ab23, half_low, cd23);
    w[12 + i] = _mm512_permutex2var_epi64(ab23, half_high, cd23);
  }
}

// The 64 rounds over one chunk of every message; w is the chunk's words and
// becomes the message schedule, sixteen words at a time. It computes the
// schedule as it goes rather than calling schedule() and rounds_scheduled():
// measured on codex-chunk of 512 MiB, the two-step form took about 8% more
// CPU. The two-step form pays only where one schedule feeds two states.
CODEX_X16_TARGET inline void rounds(__m512i (&state)[8], __m512i (&w)[16]) {
  __m512i a = state[0], b = state[1], c = state[2], d = state[3];
  __m512i e = state[4], f = state[5], g = state[6], h = state[7];
#pragma GCC unroll 64
  for (int t = 0; t < 64; ++t) {
    __m512i& word = w[t & 15];
    if (t >= 16)
      word = add(add(word, small_sigma<7, 18, 3>(w[(t - 15) & 15])), add(w[(t - 7) & 15], small_sigma<17, 19, 10>(w[(t - 2) & 15])));
    const __m512i t1 = add(add(h, big_sigma<6, 11, 25>(e)), add(ternary<kChoose>(e, f, g), add(word, _mm512_set1_epi32(kRound[t]))));
    const __m512i t2 = add(big_sigma<2, 13, 22>(a), ternary<kMajority>(a, b, c));
    h = g;
    g = f;
    f = e;
    e = add(d, t1);
    d = c;
    c = b;
    b = a;
    a = add(t1, t2);
  }
  state[0] = add(state[0], a);
  state[1] = add(state[1], b);
  state[2] = add(state[2], c);
  state[3] = add(state[3], d);
  state[4] = add(state[4], e);
  state[5] = add(state[5], f);
  state[6] = add(state[6], g);
  state[7] = add(state[7], h);
}

// The message schedule of one chunk with the round constants added,
// wk[t] = W[t] + K[t], from its sixteen words: computed once and fed to more
// than one state (digest_with_cells).
CODEX_X16_TARGET inline void schedule(const __m512i (&w)[16], __m512i (&wk)[64]) {
  __m512i word[16];
  for (int t = 0; t < 16; ++t) word[t] = w[t];
#pragma GCC unroll 64
  for (int t = 0; t < 64; ++t) {
    if (t >= 16)
      word[t & 15] = add(add(word[t & 15], small_sigma<7, 18, 3>(word[(t - 15) & 15])),
                         add(word[(t - 7) & 15], small_sigma<17, 19, 10>(word[(t - 2) & 15])));
    wk[t] = add(word[t & 15], _mm512_set1_epi32(static_cast<int>(kRound[t])));
  }
}

// The 64 rounds over one chunk whose schedule is `wk` (see schedule()).
CODEX_X16_TARGET inline void rounds_scheduled(__m512i (&state)[8], const __m512i (&wk)[64]) {
  __m512i a = state[0], b = state[1], c = state[2], d = state[3];
  __m512i e = state[4], f = state[5], g = state[6], h = state[7];
#pragma GCC unroll 64
  for (int t = 0; t < 64; ++t) {
    const __m512i t1 = add(add(h, big_sigma<6, 11, 25>(e)), add(ternary<kChoose>(e, f, g), wk[t]));
    const __m512i t2 = add(big_sigma<2, 13, 22>(a), ternary<kMajority>(a, b, c));
    h = g;
    g = f;
    f = e;
    e = add(d, t1);
    d = c;
    c = b;
    b = a;
    a = add(t1, t2);
  }
  state[0] = add(state[0], a);
  state[1] = add(state[1], b);
  state[2] = add(state[2], c);
  state[3] = add(state[3], d);
  state[4] = add(state[4], e);
  state[5] = add(state[5], f);
  state[6] = add(state[6], g);
  state[7] = add(state[7], h);
}

CODEX_X16_TARGET inline void initial_state(__m512i (&state)[8]) {
  for (int i = 0; i < 8; ++i) state[i] = _mm512_set1_epi32(static_cast<int>(kInitial[i]));
}

// The schedule of the padding chunk of a message of `size` bytes, size a
// multiple of 64: 0x80, zeros, the length in bits. The same in every lane.
CODEX_X16_TARGET void padding_schedule(std::uint64_t size, __m512i (&wk)[64]) {
  __m512i w[16];
  const std::uint64_t bits = size * 8;
  for (int t = 0; t < 16; ++t) w[t] = _mm512_setzero_si512();
  w[0] = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  w[14] = _mm512_set1_epi32(static_cast<int>(bits >> 32));
  w[15] = _mm512_set1_epi32(static_cast<int>(bits & 0xffffffffu));
  schedule(w, wk);
}

// The digests in a state, lane j to out + j * stride (32 bytes each, big-endian words).
CODEX_X16_TARGET void store_digests(const __m512i (&state)[8], std::uint8_t* out, std::size_t stride) {
  alignas(64) std::uint32_t words[8][kLanes];
  for (int i = 0; i < 8; ++i) _mm512_store_si512(words[i], state[i]);
  for (std::size_t j = 0; j < kLanes; ++j)
    for (int i = 0; i < 8; ++i)
      for (int byte = 0; byte < 4; ++byte)
        out[j * stride + 4 * i + byte] = static_cast<std::uint8_t>(words[i][j] >> (24 - 8 * byte));
}

bool cpu_has_avx512() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return false;  // OSXSAVE
  // The OS must save the vector state: XCR0 bits 1-2 (SSE, AVX) and 5-7 (opmask, ZMM).
  unsigned xcr0_low, xcr0_high;
  __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  if ((xcr0_low & 0xE6) != 0xE6) return false;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool avx512f = ebx & (1u << 16), avx512bw = ebx & (1u << 30);
  return avx512f && avx512bw;
}

}  // namespace

bool available() {
  static const bool has = cpu_has_avx512() && std::getenv("CODEX_NO_AVX512") == nullptr;
  return has;
}

CODEX_X16_TARGET void digest(const std::uint8_t* const (&messages)[kLanes], std::size_t size,
                             std::uint8_t (&out)[kLanes][32]) {
  __m512i state[8], w[16];
  for (int i = 0; i < 8; ++i) state[i] = _mm512_set1_epi32(static_cast<int>(kInitial[i]));
  const std::size_t whole = size / 64;
  for (std::size_t chunk = 0; chunk < whole; ++chunk) {
    load_words(messages, 64 * chunk, w);
    rounds(state, w);
  }
  // The last bytes (fewer than 64) with SHA-256's padding: 0x80, zeros, the
  // length in bits; one or two chunks, the same for every message.
  const std::size_t rest = size % 64;
  const std::size_t tail_size = rest + 1 + 8 <= 64 ? 64 : 128;
  std::uint8_t tails[kLanes][128];
  const std::uint8_t* tail_of[kLanes];
  const std::uint64_t bits = static_cast<std::uint64_t>(size) * 8;
  for (std::size_t j = 0; j < kLanes; ++j) {
    std::memset(tails[j], 0, sizeof tails[j]);
    if (rest > 0) std::memcpy(tails[j], messages[j] + 64 * whole, rest);
    tails[j][rest] = 0x80;
    for (int i = 0; i < 8; ++i) tails[j][tail_size - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
    tail_of[j] = tails[j];
  }
  for (std::size_t at = 0; at < tail_size; at += 64) {
    load_words(tail_of, at, w);
    rounds(state, w);
  }
  alignas(64) std::uint32_t words[8][kLanes];
  for (int i = 0; i < 8; ++i) _mm512_store_si512(words[i], state[i]);
  for (std::size_t j = 0; j < kLanes; ++j)
    for (int i = 0; i < 8; ++i)
      for (int byte = 0; byte < 4; ++byte) out[j][4 * i + byte] = static_cast<std::uint8_t>(words[i][j] >> (24 - 8 * byte));
}

CODEX_X16_TARGET void digest_with_cells(const std::uint8_t* const (&messages)[kLanes], std::size_t size,
                                        std::size_t cell_size, std::uint8_t (&out)[kLanes][32],
                                        std::uint8_t (*cells)[32]) {
  if (size == 0 || cell_size == 0 || cell_size % 64 != 0 || size % cell_size != 0) std::abort();  // a caller's bug
  const std::size_t cells_per_message = size / cell_size;
  __m512i whole[8], cell[8], w[16], wk[64], cell_padding[64];
  padding_schedule(cell_size, cell_padding);
  initial_state(whole);
  for (std::size_t at = 0; at < size; at += 64) {
    if (at % cell_size == 0) initial_state(cell);
    load_words(messages, at, w);
    schedule(w, wk);  // once, for both states
    rounds_scheduled(whole, wk);
    rounds_scheduled(cell, wk);
    if ((at + 64) % cell_size == 0) {
      // The cell is complete: its padding chunk, then its sixteen digests.
      rounds_scheduled(cell, cell_padding);
      store_digests(cell, cells[at / cell_size], 32 * cells_per_message);
    }
  }
  padding_schedule(size, wk);
  rounds_scheduled(whole, wk);
  store_digests(whole, out[0], 32);
}

#else  // no AVX-512 on this architecture or compiler: sha256.cpp uses SHA-NI or OpenSSL

bool available() { return false; }
void digest(const std::uint8_t* const (&)[kLanes], std::size_t, std::uint8_t (&)[kLanes][32]) { std::abort(); }
void digest_with_cells(const std::uint8_t* const (&)[kLanes], std::size_t, std::size_t, std::uint8_t (&)[kLanes][32],
                       std::uint8_t (*)[32]) {
  std::abort();
}

#endif

}  // namespace codex::sha_x16

#if CODEX_HAVE_X16
#pragma GCC diagnostic pop
#endif
