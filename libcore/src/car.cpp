// CARv1 streams: how the tools hand blocks to each other through pipes and
// files. The header is a two-key DAG-CBOR map; each block is one section,
// varint(length) CID data. A reader trusts nothing: every length is bounded
// before anything is allocated, truncation is told apart from a clean end
// (which may only fall on a section boundary), and every error names the byte
// offset in the stream. Blocks are NOT checked against their CIDs here; the
// consumer does that before storing anything.
#include "codex/car.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "cbor.hpp"
#include "codex/varint.hpp"

namespace codex {

namespace {

constexpr const char* kHeaderWhat = "CAR header";

// A key from hostile input, fit for an error message.
std::string printable(ByteView bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < 64; ++i) {
    const std::uint8_t c = bytes[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("\\x{:02x}", c);
  }
  if (bytes.size() > 64) out += "...";
  return out;
}

bool equals(ByteView bytes, std::string_view text) {
  return bytes.size() == text.size() && std::equal(bytes.begin(), bytes.end(), text.begin(),
                                                   [](std::uint8_t b, char c) { return b == static_cast<std::uint8_t>(c); });
}

Result<std::vector<Cid>> decode_roots(ByteView bytes, std::size_t& pos) {
  const std::size_t start = pos;
  CODEX_TRY_ASSIGN(std::uint64_t count,
                   cbor::read_expected(bytes, pos, cbor::Major::array, kHeaderWhat, "the value of \"roots\""));
  if (count > kMaxCarRoots)
    return make_error(Errc::corrupt, "CAR header: \"roots\" at byte {} lists {} CIDs, over the limit of {}", start,
                      count, kMaxCarRoots);
  std::vector<Cid> roots;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t root_start = pos;
    const std::string item = fmt::format("root {}", i);
    CODEX_TRY_ASSIGN(std::uint64_t tag, cbor::read_expected(bytes, pos, cbor::Major::tag, kHeaderWhat, item));
    if (tag != cbor::kCidTag)
      return make_error(Errc::corrupt, "CAR header: root {} at byte {} has tag {}, not the CID tag 42", i, root_start,
                        tag);
    CODEX_TRY_ASSIGN(ByteView link, cbor::read_string(bytes, pos, cbor::Major::byte_string, kHeaderWhat, item));
    if (link.empty() || link[0] != 0x00)
      return make_error(Errc::corrupt,
                        "CAR header: root {} at byte {} is not a CID link: its bytes do not start with the 0x00 "
                        "multibase prefix",
                        i, root_start);
    auto cid = Cid::from_bytes(link.subspan(1));
    if (!cid.ok())
      return make_error(Errc::corrupt, "CAR header: root {} at byte {} is not a valid CID: {}", i, root_start,
                        cid.error().message);
    roots.push_back(std::move(*cid));
  }
  return roots;
}

}  // namespace

Cid manifest_root_placeholder() { return Cid::from_digest(codec::manifest, Digest{}); }

Bytes encode_car_header(std::span<const Cid> roots) {
  Bytes out;
  out.reserve(32 + roots.size() * 48);
  cbor::put_head(out, cbor::Major::map, 2);
  cbor::put_text(out, "roots");
  cbor::put_head(out, cbor::Major::array, roots.size());
  for (const Cid& root : roots) {
    cbor::put_head(out, cbor::Major::tag, cbor::kCidTag);
    cbor::put_head(out, cbor::Major::byte_string, 1 + root.bytes().size());
    out.push_back(0x00);  // the identity multibase prefix DAG-CBOR puts before a binary CID
    out.insert(out.end(), root.bytes().begin(), root.bytes().end());
  }
  cbor::put_text(out, "version");
  cbor::put_head(out, cbor::Major::unsigned_int, 1);
  return out;
}

Result<CarHeader> decode_car_header(ByteView bytes) {
  if (bytes.size() > kMaxCarHeader)
    return make_error(Errc::corrupt, "CAR header is {} bytes, over the limit of {}", bytes.size(), kMaxCarHeader);
  std::size_t pos = 0;
  CODEX_TRY_ASSIGN(std::uint64_t entries,
                   cbor::read_expected(bytes, pos, cbor::Major::map, kHeaderWhat, "the header"));
  if (entries > 2)
    return make_error(Errc::corrupt, "CAR header has {} keys; CARv1 allows only \"roots\" and \"version\"", entries);

  std::optional<std::uint64_t> version;
  std::optional<std::vector<Cid>> roots;
  for (std::uint64_t i = 0; i < entries; ++i) {
    const std::size_t key_start = pos;
    CODEX_TRY_ASSIGN(ByteView key, cbor::read_string(bytes, pos, cbor::Major::text_string, kHeaderWhat, "a map key"));
    if (equals(key, "version")) {
      if (version) return make_error(Errc::corrupt, "CAR header has \"version\" twice (again at byte {})", key_start);
      CODEX_TRY_ASSIGN(version, cbor::read_expected(bytes, pos, cbor::Major::unsigned_int, kHeaderWhat,
                                                    "the value of \"version\""));
    } else if (equals(key, "roots")) {
      if (roots) return make_error(Errc::corrupt, "CAR header has \"roots\" twice (again at byte {})", key_start);
      // DAG-CBOR orders map keys (shorter first), so a header has one
      // encoding: "roots" before "version".
      if (version)
        return make_error(Errc::corrupt,
                          "CAR header has \"roots\" after \"version\" (at byte {}); DAG-CBOR puts \"roots\" first",
                          key_start);
      CODEX_TRY_ASSIGN(roots, decode_roots(bytes, pos));
    } else {
      return make_error(Errc::corrupt,
                        "CAR header has unknown key \"{}\" at byte {}; CARv1 allows only \"roots\" and \"version\"",
                        printable(key), key_start);
    }
  }
  if (pos != bytes.size())
    return make_error(Errc::corrupt, "CAR header has {} unexpected bytes after its map, from byte {}",
                      bytes.size() - pos, pos);
  if (!version) return make_error(Errc::corrupt, "CAR header has no \"version\"");
  if (*version == 2)
    return make_error(Errc::corrupt, "this is a CARv2 file; only CARv1 streams are supported");
  if (*version != 1)
    return make_error(Errc::corrupt, "CAR header has version {}; only CARv1 streams are supported", *version);
  if (!roots) return make_error(Errc::corrupt, "CAR header has no \"roots\"");
  return CarHeader{std::move(*roots), *version};
}

// --- reading -------------------------------------------------------------

Error CarReader::truncated(const char* what) const {
  return make_error(Errc::corrupt, "truncated CAR stream '{}': {} cut at byte offset {}", source_.name(), what,
                    offset_);
}

// Varints come a byte at a time; the fd sources are buffered, and a section
// has only five varints against 64 KiB of data read in one call.
Result<bool> CarReader::read_varint_or_eof(std::uint64_t& value, const char* what) {
  const std::uint64_t start = offset_;
  value = 0;
  for (int i = 0; i < 9; ++i) {
    std::uint8_t byte = 0;
    CODEX_TRY_ASSIGN(std::size_t got, source_.read_some(MutableByteView(&byte, 1)));
    if (got == 0) {
      if (i == 0) return false;
      return truncated(what);
    }
    ++offset_;
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (byte == 0 && i > 0)
        return make_error(Errc::corrupt, "CAR stream '{}': {} at byte offset {} is a non-minimal varint",
                          source_.name(), what, start);
      return true;
    }
  }
  return make_error(Errc::corrupt, "CAR stream '{}': {} at byte offset {} is a varint longer than 9 bytes",
                    source_.name(), what, start);
}

Status CarReader::read_varint(std::uint64_t& value, const char* what) {
  CODEX_TRY_ASSIGN(bool got, read_varint_or_eof(value, what));
  if (!got) return truncated(what);
  return {};
}

Status CarReader::read_exactly(MutableByteView out, const char* what) {
  if (out.empty()) return {};
  CODEX_TRY_ASSIGN(std::size_t got, source_.read_full(out));
  offset_ += got;
  if (got < out.size()) return truncated(what);
  return {};
}

Result<CarHeader> CarReader::read_header() {
  std::uint64_t length = 0;
  CODEX_TRY_ASSIGN(bool got, read_varint_or_eof(length, "header length"));
  if (!got) return make_error(Errc::corrupt, "CAR stream '{}' is empty: no header", source_.name());
  if (length == 0) return make_error(Errc::corrupt, "CAR stream '{}' has a header of length 0", source_.name());
  if (length > kMaxCarHeader)
    return make_error(Errc::corrupt, "CAR stream '{}' has a header of {} bytes, over the limit of {}", source_.name(),
                      length, kMaxCarHeader);
  Bytes header(static_cast<std::size_t>(length));
  CODEX_TRY(read_exactly(header, "header"));
  auto decoded = decode_car_header(header);
  if (!decoded.ok())
    return make_error(Errc::corrupt, "CAR stream '{}': {}", source_.name(), decoded.error().message);
  return decoded;
}

Result<bool> CarReader::next(Cid& cid, Bytes& data, const Admit& admit) {
  const std::uint64_t section_start = offset_;
  std::uint64_t section = 0;
  CODEX_TRY_ASSIGN(bool more, read_varint_or_eof(section, "section length"));
  if (!more) return false;
  const std::uint64_t number = sections_;
  if (section == 0)
    return make_error(Errc::corrupt, "CAR stream '{}': section {} at byte offset {} has length 0", source_.name(),
                      number, section_start);
  if (section > kMaxCarSection)
    return make_error(Errc::corrupt, "CAR stream '{}': section {} at byte offset {} is {} bytes, over the limit of {}",
                      source_.name(), number, section_start, section, kMaxCarSection);

  // The CID field by field, so its length is known without reading past it.
  const std::uint64_t body_start = offset_;
  auto used = [&] { return offset_ - body_start; };
  auto overrun = [&](const char* what) {
    return make_error(Errc::corrupt, "CAR stream '{}': section {} at byte offset {} is {} bytes, too short for its {}",
                      source_.name(), number, section_start, section, what);
  };
  Bytes cid_bytes;
  cid_bytes.reserve(40);
  static constexpr const char* kFields[] = {"section CID version", "section CID codec", "section CID hash code",
                                            "section CID digest length"};
  std::uint64_t digest_length = 0, hash_code = 0;
  for (int i = 0; i < 4; ++i) {
    std::uint64_t value = 0;
    CODEX_TRY(read_varint(value, kFields[i]));
    if (used() > section) return overrun(kFields[i]);
    if (i == 0 && value != 1) {
      if (value == multihash_code::sha2_256)
        return make_error(Errc::corrupt,
                          "CAR stream '{}': section {} at byte offset {} holds a CIDv0; only CIDv1 is supported",
                          source_.name(), number, section_start);
      return make_error(Errc::corrupt, "CAR stream '{}': section {} at byte offset {} holds a CID of version {}",
                        source_.name(), number, section_start, value);
    }
    put_varint(cid_bytes, value);  // minimal on input, so re-encoding gives the same bytes
    if (i == 2) hash_code = value;
    digest_length = value;
  }
  // Before reading the digest: a CID is small or refused.
  if (Status ok = check_multihash(hash_code, digest_length); !ok)
    return make_error(Errc::corrupt, "CAR stream '{}': section {} at byte offset {} has an invalid CID: {}",
                      source_.name(), number, section_start, ok.error().message);
  if (digest_length > section - used()) return overrun("CID digest");
  const std::size_t prefix = cid_bytes.size();
  cid_bytes.resize(prefix + static_cast<std::size_t>(digest_length));
  CODEX_TRY(read_exactly(MutableByteView(cid_bytes).subspan(prefix), "section CID digest"));
  auto parsed = Cid::from_bytes(cid_bytes);
  if (!parsed.ok())
    return make_error(Errc::corrupt, "CAR stream '{}': section {} at byte offset {} has an invalid CID: {}",
                      source_.name(), number, section_start, parsed.error().message);

  if (admit) {
    if (Status admitted = admit(*parsed, section - used()); !admitted)
      return make_error(admitted.error().code, "CAR stream '{}': section {} at byte offset {}: {}", source_.name(),
                        number, section_start, admitted.error().message);
  }
  // resize keeps the capacity; with same-sized blocks this never reallocates.
  data.resize(static_cast<std::size_t>(section - used()));
  CODEX_TRY(read_exactly(data, "section data"));
  cid = std::move(*parsed);
  ++sections_;
  return true;
}

// --- writing -------------------------------------------------------------

Bytes encode_car_header_with_length(std::span<const Cid> roots) {
  const Bytes header = encode_car_header(roots);
  Bytes out;
  out.reserve(header.size() + 9);
  put_varint(out, header.size());
  out.insert(out.end(), header.begin(), header.end());
  return out;
}

Status CarWriter::write_header(std::span<const Cid> roots) {
  for (const Cid& root : roots)
    if (!root.valid()) return make_error(Errc::failure, "cannot write an empty CID as a CAR root");
  const Bytes header = encode_car_header_with_length(roots);
  written_ += header.size();
  return sink_.write(header);
}

namespace {

// A section's varint length and CID, checked: what precedes its data.
Result<Bytes> section_prefix(const Cid& cid, std::size_t data_size) {
  if (!cid.valid()) return make_error(Errc::failure, "cannot write a CAR section for an empty CID");
  const std::uint64_t section = cid.bytes().size() + data_size;
  if (section > kMaxCarSection)
    return make_error(Errc::failure, "block {} of {} bytes is too large for a CAR section (limit {} bytes)",
                      cid.to_string(), data_size, kMaxCarSection);
  Bytes prefix;
  prefix.reserve(9 + cid.bytes().size());
  put_varint(prefix, section);
  prefix.insert(prefix.end(), cid.bytes().begin(), cid.bytes().end());
  return prefix;
}

}  // namespace

Status CarWriter::write_block(const Cid& cid, ByteView data) {
  // Two writes into a buffered sink rather than one copy of the data.
  CODEX_TRY_ASSIGN(Bytes prefix, section_prefix(cid, data.size()));
  CODEX_TRY(sink_.write(prefix));
  if (!data.empty()) CODEX_TRY(sink_.write(data));
  written_ += prefix.size() + data.size();
  return {};
}

std::uint64_t CarWriter::section_size(const Cid& cid, std::size_t data_size) {
  const std::uint64_t section = cid.bytes().size() + data_size;
  return varint_size(section) + section;
}

Status CarWriter::write_block_at(std::uint64_t offset, const Cid& cid, ByteView data) {
  CODEX_TRY_ASSIGN(Bytes prefix, section_prefix(cid, data.size()));
  CODEX_TRY(sink_.write_at(offset, prefix));
  if (!data.empty()) CODEX_TRY(sink_.write_at(offset + prefix.size(), data));
  return {};
}

}  // namespace codex
