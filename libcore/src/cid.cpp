// CIDv1 in binary and text form. Only version 1 exists here: Codex never makes
// CIDv0 (a bare sha2-256 multihash), and accepting it would give one block two
// names. The multihash's length byte must match the digest that follows, and a
// sha2-256 digest must be 32 bytes, so every valid Cid can be hashed against.
// Only sha2-256 and small identity multihashes are read (check_multihash), so
// a hostile CID is never large, and printing one never costs much.
#include "codex/cid.hpp"

#include <string_view>

#include "codex/varint.hpp"
#include "multibase.hpp"

namespace codex {

namespace {

// CID text longer than this is refused before decoding: a CIDv1 with a 32-byte
// digest is about 60 characters, and base58 decoding is quadratic.
constexpr std::size_t kMaxCidText = 1024;

// Hostile text shown in an error: bounded, printable.
std::string quoted(std::string_view text) {
  std::string out;
  const std::size_t shown = text.size() > 72 ? 72 : text.size();
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (shown < text.size()) out += "...";
  return "'" + out + "'";
}

Error with_subject(Error error, std::string_view what) {
  error.message = fmt::format("{}: {}", what, error.message);
  return error;
}

}  // namespace

std::string codec_name(std::uint64_t code) {
  switch (code) {
    case multihash_code::identity: return "identity";
    case multihash_code::sha2_256: return "sha2-256";
    case codec::raw: return "raw";
    case 0x70: return "dag-pb";
    case 0x71: return "dag-cbor";
    case codec::manifest: return "codex-manifest";
    case codec::block: return "codex-block";
    case codec::root: return "codex-root";
    case codec::slot_root: return "codex-slot-root";
    case codec::proving_root: return "codex-proving-root";
    case codec::slot_cell: return "codex-slot-cell";
    default: return fmt::format("0x{:x}", code);
  }
}

Status check_multihash(std::uint64_t hash_code, std::uint64_t digest_length) {
  if (hash_code == multihash_code::sha2_256) {
    if (digest_length != 32)
      return make_error(Errc::corrupt, "CID multihash is sha2-256 but its digest length is {} (expected 32)",
                        digest_length);
    return {};
  }
  if (hash_code == multihash_code::identity) {
    if (digest_length > kMaxIdentityDigest)
      return make_error(Errc::corrupt, "CID multihash is identity with a {}-byte digest (at most {})", digest_length,
                        kMaxIdentityDigest);
    return {};
  }
  return make_error(Errc::corrupt, "CID multihash {} is not supported (only sha2-256, and identity for roots)",
                    codec_name(hash_code));
}

Cid Cid::from_digest(std::uint64_t codec, const Digest& digest) {
  Cid cid;
  cid.bytes_.reserve(varint_size(codec) + 3 + digest.size());
  put_varint(cid.bytes_, 1);
  put_varint(cid.bytes_, codec);
  put_varint(cid.bytes_, multihash_code::sha2_256);
  put_varint(cid.bytes_, digest.size());
  cid.digest_offset_ = cid.bytes_.size();
  cid.bytes_.insert(cid.bytes_.end(), digest.begin(), digest.end());
  cid.codec_ = codec;
  cid.hash_code_ = multihash_code::sha2_256;
  return cid;
}

Result<Cid> Cid::read(ByteView data, std::size_t& pos) {
  const std::size_t start = pos;
  if (start >= data.size()) return make_error(Errc::corrupt, "CID is empty (at byte {})", start);
  if (data.size() - start >= 2 && data[start] == 0x12 && data[start + 1] == 0x20)
    return make_error(Errc::corrupt,
                      "CIDv0 is not supported (binary CID at byte {} is a bare sha2-256 multihash); "
                      "Codex uses CIDv1",
                      start);
  std::size_t p = start;
  auto version = read_varint(data, p);
  if (!version) return with_subject(std::move(version).error(), "CID version");
  if (*version != 1)
    return make_error(Errc::corrupt, "CID version {} at byte {} is not supported (only CIDv1)", *version, start);
  auto content_codec = read_varint(data, p);
  if (!content_codec) return with_subject(std::move(content_codec).error(), "CID codec");
  auto hash = read_varint(data, p);
  if (!hash) return with_subject(std::move(hash).error(), "CID multihash code");
  auto length = read_varint(data, p);
  if (!length) return with_subject(std::move(length).error(), "CID multihash length");
  CODEX_TRY(check_multihash(*hash, *length));
  if (*length > data.size() - p)
    return make_error(Errc::corrupt, "CID digest of {} bytes is truncated at byte {} ({} bytes present)", *length,
                      data.size(), data.size() - p);
  Cid cid;
  cid.bytes_.assign(data.begin() + static_cast<std::ptrdiff_t>(start),
                    data.begin() + static_cast<std::ptrdiff_t>(p + *length));
  cid.codec_ = *content_codec;
  cid.hash_code_ = *hash;
  cid.digest_offset_ = p - start;
  pos = p + *length;
  return cid;
}

Result<Cid> Cid::from_bytes(ByteView bytes) {
  std::size_t pos = 0;
  CODEX_TRY_ASSIGN(Cid cid, read(bytes, pos));
  if (pos != bytes.size())
    return make_error(Errc::corrupt, "CID is followed by {} unexpected bytes (at byte {})", bytes.size() - pos, pos);
  return cid;
}

Result<Cid> Cid::parse(std::string_view text) {
  if (text.empty()) return make_error(Errc::corrupt, "CID text is empty");
  if (text.size() > kMaxCidText)
    return make_error(Errc::corrupt, "CID text {} is too long ({} characters, at most {})", quoted(text),
                      text.size(), kMaxCidText);
  if (text.size() >= 2 && text[0] == 'Q' && text[1] == 'm')
    return make_error(Errc::corrupt, "CIDv0 {} is not supported; Codex uses CIDv1 ('z...' or 'b...')",
                      quoted(text));
  Result<Bytes> bytes = Bytes{};
  switch (text[0]) {
    case 'z': bytes = base58btc_decode_at(text.substr(1), 1); break;
    case 'b': bytes = base32_decode_at(text.substr(1), 1); break;
    default:
      return make_error(Errc::corrupt,
                        "CID {} has unsupported multibase prefix {} (expected 'z' base58btc or 'b' base32)",
                        quoted(text), printable_char(text[0]));
  }
  if (!bytes) return with_subject(std::move(bytes).error(), fmt::format("CID {}", quoted(text)));
  // A mistyped or truncated CID still decodes as base58 or base32, into bytes
  // that read as a nonsense version or codec: say it is not a CID rather
  // than report what its first bytes would mean.
  auto cid = from_bytes(*bytes);
  if (!cid) return make_error(Errc::corrupt, "{} is not a valid CID (mistyped or cut short?)", quoted(text));
  return cid;
}

std::optional<Digest> Cid::sha256_digest() const {
  if (!valid() || hash_code_ != multihash_code::sha2_256 || bytes_.size() - digest_offset_ != 32)
    return std::nullopt;
  Digest digest;
  std::copy(bytes_.begin() + static_cast<std::ptrdiff_t>(digest_offset_), bytes_.end(), digest.begin());
  return digest;
}

std::string Cid::to_string() const { return "z" + base58btc_encode(bytes_); }

const Cid& empty_block_cid() {
  static const Cid cid = Cid::from_digest(codec::block, sha256(ByteView{}));
  return cid;
}

}  // namespace codex

std::size_t std::hash<codex::Cid>::operator()(const codex::Cid& cid) const noexcept {
  const auto& bytes = cid.bytes();
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}
