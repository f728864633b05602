// The two multibase encodings a CID's text form uses here: base58btc (Bitcoin's
// alphabet; Codex prints CIDs this way, prefix 'z') and RFC 4648 base32 in lower
// case without padding (prefix 'b', the IPFS default).
//
// Base58 is a change of radix, quadratic in the length. CIDs are about 36
// bytes, so that is fine, but the inner loops work on limbs (base 58^5 one
// way, base 2^32 the other) to do five digits per step instead of one. Decoding
// is strict: a base32 text whose last character carries non-zero padding bits,
// or whose length no byte string produces, is refused, so every byte string has
// exactly one text form.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codex/cid.hpp"
#include "multibase.hpp"

namespace codex {

namespace {

constexpr char kBase58Alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr char kBase32Alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::uint64_t kBase58Pow5 = 58ull * 58 * 58 * 58 * 58;  // 656356768 < 2^32

constexpr std::array<std::int8_t, 256> make_reverse(const char* alphabet, int size) {
  std::array<std::int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < size; ++i) table[static_cast<std::uint8_t>(alphabet[i])] = static_cast<std::int8_t>(i);
  return table;
}
constexpr auto kBase58Reverse = make_reverse(kBase58Alphabet, 58);
constexpr auto kBase32Reverse = make_reverse(kBase32Alphabet, 32);

}  // namespace

std::string printable_char(char c) {
  const auto byte = static_cast<std::uint8_t>(c);
  if (byte >= 0x20 && byte < 0x7f && c != '\'' && c != '\\') return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", byte);
}

std::string base58btc_encode(ByteView bytes) {
  std::size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;

  // The number, little-endian in base 58^5; fed up to three bytes at a time
  // (limb * 2^24 + carry stays below 2^64).
  std::vector<std::uint32_t> limbs;
  limbs.reserve((bytes.size() - zeros) * 138 / 500 + 2);
  std::size_t i = zeros;
  const std::size_t first = (bytes.size() - zeros) % 3;
  while (i < bytes.size()) {
    const std::size_t take = (i == zeros && first != 0) ? first : 3;
    std::uint64_t carry = 0;
    for (std::size_t k = 0; k < take; ++k) carry = carry << 8 | bytes[i + k];
    const std::uint64_t multiplier = 1ull << (8 * take);
    for (auto& limb : limbs) {
      const std::uint64_t x = limb * multiplier + carry;
      limb = static_cast<std::uint32_t>(x % kBase58Pow5);
      carry = x / kBase58Pow5;
    }
    while (carry != 0) {
      limbs.push_back(static_cast<std::uint32_t>(carry % kBase58Pow5));
      carry /= kBase58Pow5;
    }
    i += take;
  }

  std::string out(zeros, '1');
  out.reserve(zeros + limbs.size() * 5);
  for (std::size_t l = limbs.size(); l-- > 0;) {
    char digits[5];
    std::uint32_t limb = limbs[l];
    for (int d = 4; d >= 0; --d) {
      digits[d] = kBase58Alphabet[limb % 58];
      limb /= 58;
    }
    int start = 0;
    if (l == limbs.size() - 1)  // the top limb is written without leading zero digits
      while (start < 4 && digits[start] == '1') ++start;
    out.append(digits + start, digits + 5);
  }
  return out;
}

Result<Bytes> base58btc_decode_at(std::string_view text, std::size_t offset) {
  for (std::size_t i = 0; i < text.size(); ++i)
    if (kBase58Reverse[static_cast<std::uint8_t>(text[i])] < 0)
      return make_error(Errc::corrupt, "invalid base58btc character {} at position {}",
                        printable_char(text[i]), offset + i);

  std::size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') ++ones;

  // The number, little-endian in base 2^32; fed five digits at a time.
  std::vector<std::uint32_t> limbs;
  limbs.reserve((text.size() - ones) * 733 / 1000 / 4 + 2);
  std::size_t i = ones;
  const std::size_t first = (text.size() - ones) % 5;
  while (i < text.size()) {
    const std::size_t take = (i == ones && first != 0) ? first : 5;
    std::uint64_t carry = 0, multiplier = 1;
    for (std::size_t k = 0; k < take; ++k) {
      carry = carry * 58 + static_cast<std::uint64_t>(kBase58Reverse[static_cast<std::uint8_t>(text[i + k])]);
      multiplier *= 58;
    }
    for (auto& limb : limbs) {
      const std::uint64_t x = limb * multiplier + carry;
      limb = static_cast<std::uint32_t>(x);
      carry = x >> 32;
    }
    if (carry != 0) limbs.push_back(static_cast<std::uint32_t>(carry));
    i += take;
  }

  Bytes out(ones, 0);
  out.reserve(ones + limbs.size() * 4);
  bool leading = true;
  for (std::size_t l = limbs.size(); l-- > 0;) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      const auto byte = static_cast<std::uint8_t>(limbs[l] >> shift);
      if (leading && byte == 0) continue;
      leading = false;
      out.push_back(byte);
    }
  }
  return out;
}

Result<Bytes> base58btc_decode(std::string_view text) { return base58btc_decode_at(text, 0); }

std::string base32_encode(ByteView bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

Result<Bytes> base32_decode_at(std::string_view text, std::size_t offset) {
  // Lengths mod 8 of 1, 3 and 6 characters leave 5, 7 or 6 bits: not a whole byte.
  const std::size_t tail = text.size() % 8;
  if (tail == 1 || tail == 3 || tail == 6)
    return make_error(Errc::corrupt, "base32 text of {} characters does not encode whole bytes", text.size());
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int value = kBase32Reverse[static_cast<std::uint8_t>(text[i])];
    if (value < 0)
      return make_error(Errc::corrupt, "invalid base32 character {} at position {} (lower-case RFC 4648, no padding)",
                        printable_char(text[i]), offset + i);
    buffer = (buffer << 5) | static_cast<std::uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  if ((buffer & ((1u << bits) - 1)) != 0)
    return make_error(Errc::corrupt, "base32 text ends in non-zero padding bits at position {}",
                      offset + text.size() - 1);
  return out;
}

Result<Bytes> base32_decode(std::string_view text) { return base32_decode_at(text, 0); }

}  // namespace codex
