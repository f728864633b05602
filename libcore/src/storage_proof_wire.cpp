// The two wire forms of a storage proof (docs/storage-proofs.md): pretty JSON
// for people and files (codex-verify --make-proof / --check-proof), and a
// compact binary form for heartbeats. Both decoders are strict: every field
// present, nothing unknown, fixed sizes exact, counts bounded, no trailing
// bytes; nothing is allocated beyond what the input itself holds.
#include <initializer_list>

#include "codex/storage_proof.hpp"
#include "codex/varint.hpp"
#include "json_parse.hpp"

namespace codex {
namespace {

constexpr std::uint64_t kWireVersion = 1;

// ---------------------------------------------------------------------------
// JSON

void append_digest_list(std::string& out, const std::vector<Digest>& digests, std::string_view indent) {
  if (digests.empty()) {
    out += "[]";
    return;
  }
  out += "[\n";
  for (std::size_t i = 0; i < digests.size(); ++i) {
    out += fmt::format("{}  \"{}\"{}\n", indent, to_hex(digests[i]), i + 1 < digests.size() ? "," : "");
  }
  out += fmt::format("{}]", indent);
}

// Field paths in errors read like "cells[2].cellPath[1]".
Error bad_field(std::string_view path, std::string_view what) {
  return make_error(Errc::corrupt, "storage proof json: '{}' {}", path, what);
}

Status expect_fields(const json::Value& object, std::string_view path, std::initializer_list<std::string_view> names) {
  for (const auto& [key, value] : object.object) {
    bool known = false;
    for (std::string_view name : names) known = known || key == name;
    if (!known)
      return make_error(Errc::corrupt, "storage proof json: '{}' has an unknown field '{}'", path, key);
  }
  for (std::string_view name : names)
    if (object.find(name) == nullptr)
      return make_error(Errc::corrupt, "storage proof json: '{}' lacks the field '{}'", path, name);
  return {};
}

Result<const json::Value*> typed(const json::Value& object, std::string_view name, json::Kind kind,
                                 std::string_view path) {
  const json::Value* value = object.find(name);
  if (value->kind != kind)
    return bad_field(path, fmt::format("must be {}, not {}", json::kind_name(kind), json::kind_name(value->kind)));
  return value;
}

Result<std::uint64_t> unsigned_field(const json::Value& object, std::string_view name, std::uint64_t max,
                                     std::string_view path) {
  CODEX_TRY_ASSIGN(const json::Value* value, typed(object, name, json::Kind::integer, path));
  if (value->negative || value->magnitude > max)
    return bad_field(path, fmt::format("must be an integer from 0 to {}", max));
  return value->magnitude;
}

Result<Bytes> hex_value(const json::Value& value, std::string_view path, std::size_t max_bytes) {
  if (value.kind != json::Kind::string)
    return bad_field(path, fmt::format("must be a hex string, not {}", json::kind_name(value.kind)));
  if (value.string.size() > 2 * max_bytes) return bad_field(path, fmt::format("is longer than {} bytes", max_bytes));
  auto bytes = from_hex(value.string);
  if (!bytes) return bad_field(path, "is not hex (an even number of digits 0-9, a-f)");
  return std::move(*bytes);
}

Result<Digest> digest_value(const json::Value& value, std::string_view path) {
  CODEX_TRY_ASSIGN(Bytes bytes, hex_value(value, path, 32));
  if (bytes.size() != 32) return bad_field(path, "must be 64 hex digits (a SHA-256 digest)");
  Digest digest;
  std::copy(bytes.begin(), bytes.end(), digest.begin());
  return digest;
}

Result<std::vector<Digest>> digest_list(const json::Value& object, std::string_view name, std::string_view path) {
  CODEX_TRY_ASSIGN(const json::Value* list, typed(object, name, json::Kind::array, path));
  if (list->array.size() > kMaxProofPathLength)
    return bad_field(path, fmt::format("has {} digests, at most {} accepted", list->array.size(), kMaxProofPathLength));
  std::vector<Digest> digests;
  for (std::size_t i = 0; i < list->array.size(); ++i) {
    CODEX_TRY_ASSIGN(Digest digest, digest_value(list->array[i], fmt::format("{}[{}]", path, i)));
    digests.push_back(digest);
  }
  return digests;
}

Result<CellProof> cell_from_json(const json::Value& value, std::string_view path) {
  if (value.kind != json::Kind::object)
    return bad_field(path, fmt::format("must be an object, not {}", json::kind_name(value.kind)));
  CODEX_TRY(expect_fields(value, path, {"block", "cell", "data", "cellPath", "blockRoot", "blockPath"}));
  CellProof cell;
  CODEX_TRY_ASSIGN(cell.block_in_slot, unsigned_field(value, "block", UINT64_MAX, fmt::format("{}.block", path)));
  CODEX_TRY_ASSIGN(std::uint64_t index, unsigned_field(value, "cell", UINT32_MAX, fmt::format("{}.cell", path)));
  cell.cell = static_cast<std::uint32_t>(index);
  CODEX_TRY_ASSIGN(cell.data, hex_value(*value.find("data"), fmt::format("{}.data", path), kMaxCellSize));
  CODEX_TRY_ASSIGN(cell.cell_path, digest_list(value, "cellPath", fmt::format("{}.cellPath", path)));
  CODEX_TRY_ASSIGN(cell.block_root, digest_value(*value.find("blockRoot"), fmt::format("{}.blockRoot", path)));
  CODEX_TRY_ASSIGN(cell.block_path, digest_list(value, "blockPath", fmt::format("{}.blockPath", path)));
  return cell;
}

// ---------------------------------------------------------------------------
// Binary

void put_bytes(Bytes& out, ByteView bytes) {
  put_varint(out, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_digests(Bytes& out, const std::vector<Digest>& digests) {
  put_varint(out, digests.size());
  for (const Digest& digest : digests) out.insert(out.end(), digest.begin(), digest.end());
}

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}

  Result<std::uint64_t> number(std::string_view field, std::uint64_t max) {
    std::size_t start = pos_;
    auto value = read_varint(data_, pos_);
    if (!value)
      return make_error(Errc::corrupt, "storage proof field '{}' at byte {}: {}", field, start, value.error().message);
    if (*value > max)
      return make_error(Errc::corrupt, "storage proof field '{}' at byte {} is {}, at most {} accepted", field, start,
                        *value, max);
    return *value;
  }

  Result<ByteView> take(std::string_view field, std::size_t size) {
    if (data_.size() - pos_ < size)
      return make_error(Errc::corrupt, "storage proof is truncated at byte {}: field '{}' needs {} bytes, {} are left",
                        pos_, field, size, data_.size() - pos_);
    ByteView out = data_.subspan(pos_, size);
    pos_ += size;
    return out;
  }

  Result<ByteView> sized(std::string_view field, std::uint64_t max) {
    CODEX_TRY_ASSIGN(std::uint64_t size, number(field, max));
    return take(field, static_cast<std::size_t>(size));
  }

  Result<Digest> digest(std::string_view field) {
    CODEX_TRY_ASSIGN(ByteView bytes, take(field, 32));
    Digest digest;
    std::copy(bytes.begin(), bytes.end(), digest.begin());
    return digest;
  }

  Result<std::vector<Digest>> digests(std::string_view field) {
    CODEX_TRY_ASSIGN(std::uint64_t count, number(field, kMaxProofPathLength));
    std::vector<Digest> out;
    out.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) {
      CODEX_TRY_ASSIGN(Digest digest, this->digest(field));
      out.push_back(digest);
    }
    return out;
  }

  Status finish() const {
    if (pos_ != data_.size())
      return make_error(Errc::corrupt, "storage proof has {} bytes of trailing data after byte {}",
                        data_.size() - pos_, pos_);
    return {};
  }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string proof_to_json(const StorageProof& proof) {
  std::string out = "{\n";
  out += fmt::format("  \"version\": {},\n", kWireVersion);
  out += fmt::format("  \"manifest\": \"{}\",\n", proof.manifest.valid() ? proof.manifest.to_string() : "");
  out += fmt::format("  \"slot\": {},\n", proof.slot);
  out += fmt::format("  \"challenge\": \"{}\",\n", to_hex(proof.challenge));
  out += "  \"cells\": [";
  for (std::size_t i = 0; i < proof.cells.size(); ++i) {
    const CellProof& cell = proof.cells[i];
    out += i == 0 ? "\n" : ",\n";
    out += "    {\n";
    out += fmt::format("      \"block\": {},\n", cell.block_in_slot);
    out += fmt::format("      \"cell\": {},\n", cell.cell);
    out += fmt::format("      \"data\": \"{}\",\n", to_hex(cell.data));
    out += "      \"cellPath\": ";
    append_digest_list(out, cell.cell_path, "      ");
    out += fmt::format(",\n      \"blockRoot\": \"{}\",\n", to_hex(cell.block_root));
    out += "      \"blockPath\": ";
    append_digest_list(out, cell.block_path, "      ");
    out += "\n    }";
  }
  out += proof.cells.empty() ? "]\n}" : "\n  ]\n}";
  return out;
}

Result<StorageProof> proof_from_json(std::string_view text) {
  json::Limits limits;
  limits.max_size = kMaxProofJsonSize;
  limits.max_depth = 8;
  auto parsed = json::parse(text, limits);
  if (!parsed) return make_error(Errc::corrupt, "storage proof: {}", parsed.error().message);
  const json::Value& root = *parsed;
  if (root.kind != json::Kind::object)
    return make_error(Errc::corrupt, "storage proof json must be an object, not {}", json::kind_name(root.kind));
  CODEX_TRY(expect_fields(root, "proof", {"version", "manifest", "slot", "challenge", "cells"}));

  CODEX_TRY_ASSIGN(std::uint64_t version, unsigned_field(root, "version", UINT64_MAX, "version"));
  if (version != kWireVersion)
    return make_error(Errc::corrupt, "storage proof json: version {} is not supported (only {})", version,
                      kWireVersion);
  StorageProof proof;
  CODEX_TRY_ASSIGN(const json::Value* manifest, typed(root, "manifest", json::Kind::string, "manifest"));
  auto cid = Cid::parse(manifest->string);
  if (!cid) return make_error(Errc::corrupt, "storage proof json: 'manifest' is not a CID: {}", cid.error().message);
  proof.manifest = std::move(*cid);
  CODEX_TRY_ASSIGN(std::uint64_t slot, unsigned_field(root, "slot", UINT32_MAX, "slot"));
  proof.slot = static_cast<std::uint32_t>(slot);
  CODEX_TRY_ASSIGN(proof.challenge, hex_value(*root.find("challenge"), "challenge", kChallengeSize));
  if (proof.challenge.size() != kChallengeSize)
    return bad_field("challenge", fmt::format("must be {} hex digits", 2 * kChallengeSize));
  CODEX_TRY_ASSIGN(const json::Value* cells, typed(root, "cells", json::Kind::array, "cells"));
  if (cells->array.size() > kMaxProofSamples)
    return bad_field("cells", fmt::format("has {} cells, at most {} accepted", cells->array.size(), kMaxProofSamples));
  for (std::size_t i = 0; i < cells->array.size(); ++i) {
    CODEX_TRY_ASSIGN(CellProof cell, cell_from_json(cells->array[i], fmt::format("cells[{}]", i)));
    proof.cells.push_back(std::move(cell));
  }
  return proof;
}

Bytes encode_storage_proof(const StorageProof& proof) {
  Bytes out;
  put_varint(out, kWireVersion);
  put_bytes(out, proof.manifest.bytes());
  put_varint(out, proof.slot);
  put_bytes(out, proof.challenge);
  put_varint(out, proof.cells.size());
  for (const CellProof& cell : proof.cells) {
    put_varint(out, cell.block_in_slot);
    put_varint(out, cell.cell);
    put_bytes(out, cell.data);
    put_digests(out, cell.cell_path);
    out.insert(out.end(), cell.block_root.begin(), cell.block_root.end());
    put_digests(out, cell.block_path);
  }
  return out;
}

Result<StorageProof> decode_storage_proof(ByteView bytes) {
  Reader in(bytes);
  CODEX_TRY_ASSIGN(std::uint64_t version, in.number("version", UINT64_MAX));
  if (version != kWireVersion)
    return make_error(Errc::corrupt, "storage proof version {} is not supported (only {})", version, kWireVersion);
  StorageProof proof;
  CODEX_TRY_ASSIGN(ByteView manifest, in.sized("manifest", 128));
  auto cid = Cid::from_bytes(manifest);
  if (!cid) return make_error(Errc::corrupt, "storage proof field 'manifest' is not a CID: {}", cid.error().message);
  proof.manifest = std::move(*cid);
  CODEX_TRY_ASSIGN(std::uint64_t slot, in.number("slot", UINT32_MAX));
  proof.slot = static_cast<std::uint32_t>(slot);
  CODEX_TRY_ASSIGN(ByteView challenge, in.sized("challenge", kChallengeSize));
  if (challenge.size() != kChallengeSize)
    return make_error(Errc::corrupt, "storage proof field 'challenge' is {} bytes, not {}", challenge.size(),
                      kChallengeSize);
  proof.challenge.assign(challenge.begin(), challenge.end());
  CODEX_TRY_ASSIGN(std::uint64_t count, in.number("cell count", kMaxProofSamples));
  for (std::uint64_t i = 0; i < count; ++i) {
    CellProof cell;
    CODEX_TRY_ASSIGN(cell.block_in_slot, in.number(fmt::format("cells[{}].block", i), UINT64_MAX));
    CODEX_TRY_ASSIGN(std::uint64_t index, in.number(fmt::format("cells[{}].cell", i), UINT32_MAX));
    cell.cell = static_cast<std::uint32_t>(index);
    CODEX_TRY_ASSIGN(ByteView data, in.sized(fmt::format("cells[{}].data", i), kMaxCellSize));
    cell.data.assign(data.begin(), data.end());
    CODEX_TRY_ASSIGN(cell.cell_path, in.digests(fmt::format("cells[{}].cellPath", i)));
    CODEX_TRY_ASSIGN(cell.block_root, in.digest(fmt::format("cells[{}].blockRoot", i)));
    CODEX_TRY_ASSIGN(cell.block_path, in.digests(fmt::format("cells[{}].blockPath", i)));
    proof.cells.push_back(std::move(cell));
  }
  CODEX_TRY(in.finish());
  return proof;
}

}  // namespace codex
