// Content identifiers: CIDv1 = varint(1) varint(codec) multihash, with the
// multicodecs Codex defines. Text is multibase base58btc ('z'); parsing also
// takes base32 lower-case ('b'). Parsing is strict: every error says what was
// wrong with which input.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/sha256.hpp"

namespace codex {

namespace codec {
inline constexpr std::uint64_t raw = 0x55;
inline constexpr std::uint64_t manifest = 0xCD01;      // codex-manifest
inline constexpr std::uint64_t block = 0xCD02;         // codex-block
inline constexpr std::uint64_t root = 0xCD03;          // codex-root (dataset tree)
inline constexpr std::uint64_t slot_root = 0xCD04;     // codex-slot-root
inline constexpr std::uint64_t proving_root = 0xCD05;  // codex-proving-root
inline constexpr std::uint64_t slot_cell = 0xCD06;     // codex-slot-cell
}  // namespace codec

namespace multihash_code {
inline constexpr std::uint64_t identity = 0x00;
inline constexpr std::uint64_t sha2_256 = 0x12;
}  // namespace multihash_code

// What a CID may carry here, so that no CID costs more than a small constant
// to hold, compare or print: a sha2-256 digest (32 bytes), or an identity
// multihash (Codex's Poseidon2 roots, 32 bytes) of at most
// kMaxIdentityDigest bytes; no other hash. The binary form is then at most
// kMaxCidBytes, whose text is far inside the 1024-character text limit, so
// every CID this toolkit prints it also reads back.
inline constexpr std::size_t kMaxIdentityDigest = 64;
inline constexpr std::size_t kMaxCidBytes = 9 + 9 + 1 + 1 + kMaxIdentityDigest;

// Errc::corrupt unless (hash code, digest length) is a multihash a CID here
// may carry (see above).
Status check_multihash(std::uint64_t hash_code, std::uint64_t digest_length);

// Name of a known codec ("codex-block"), or its hex number.
std::string codec_name(std::uint64_t codec);

class Cid {
 public:
  Cid() = default;  // an empty, invalid CID; valid() is false

  // CIDv1 over a sha2-256 digest.
  static Cid from_digest(std::uint64_t codec, const Digest& digest);
  // Exactly one binary CID filling all of `bytes`.
  static Result<Cid> from_bytes(ByteView bytes);
  // One binary CID starting at data[pos]; advances pos past it.
  static Result<Cid> read(ByteView data, std::size_t& pos);
  // Text: base58btc ('z…') or base32 ('b…'). CIDv0 ('Qm…') is refused by name.
  // Errors name the bad character and its 0-based position in `text`.
  static Result<Cid> parse(std::string_view text);

  bool valid() const { return !bytes_.empty(); }
  std::uint64_t codec() const { return codec_; }
  std::uint64_t hash_code() const { return hash_code_; }
  ByteView digest() const { return ByteView(bytes_).subspan(digest_offset_); }
  // The digest when the multihash is sha2-256 of 32 bytes.
  std::optional<Digest> sha256_digest() const;
  const Bytes& bytes() const { return bytes_; }
  std::string to_string() const;  // base58btc, 'z' prefix

  friend bool operator==(const Cid& a, const Cid& b) { return a.bytes_ == b.bytes_; }
  friend std::strong_ordering operator<=>(const Cid& a, const Cid& b) { return a.bytes_ <=> b.bytes_; }

 private:
  Bytes bytes_;
  std::uint64_t codec_ = 0;
  std::uint64_t hash_code_ = 0;
  std::size_t digest_offset_ = 0;
};

// The CID of a data or parity block: codex-block over sha2-256 of its bytes.
inline Cid block_cid(ByteView block) { return Cid::from_digest(codec::block, sha256(block)); }
// The empty block: codex-block over sha2-256 of no bytes (padding leaf).
const Cid& empty_block_cid();

// Base58 is quadratic in the length: meant for short strings such as CIDs.
std::string base58btc_encode(ByteView bytes);
Result<Bytes> base58btc_decode(std::string_view text);
std::string base32_encode(ByteView bytes);  // RFC 4648 lower case, no padding
Result<Bytes> base32_decode(std::string_view text);

}  // namespace codex

template <>
struct std::hash<codex::Cid> {
  std::size_t operator()(const codex::Cid& cid) const noexcept;
};
