// Manifests in Codex's three plain layouts (docs/codex-formats.md section 4), and the
// dispatch that also sends this toolkit's protected layout, P, to
// protected_manifest.cpp.
//
// Every layout wraps its header as a length-delimited field of an outer
// message: field 1 for A, B and C, field 2 for P. Within field 1 the first
// byte tells A (0x08: field 1 is the varint manifestVersion) from B and C
// (0x0a: field 1 is the treeCid bytes). B and C then agree on fields 1-6 and
// disagree from 7 on; see choose_b_or_c for how they are told apart.
//
// Encoding writes every scalar, even zero, in field order, and filename and
// mimetype only when non-empty: the bytes upstream's encoder produces.
#include <optional>

#include "manifest_internal.hpp"

namespace codex {

namespace {

using protobuf::Field;
using protobuf::Reader;
using protobuf::Schema;
using protobuf::WireType;
using protobuf::Writer;

constexpr std::string_view kOuterNames[] = {"", "header", "protectedHeader"};
constexpr Schema kOuterSchema{"manifest", kOuterNames};

// Where each header field lives in one layout; 0 when the layout lacks it.
struct PlainLayout {
  ManifestFormat format;
  Schema schema;
  std::uint32_t manifest_version, tree, block_size, dataset_size, codec, hcodec, version, erasure, filename,
      mimetype;
};

constexpr std::string_view kNamesA[] = {"",       "manifestVersion", "treeCid", "blockSize", "datasetSize",
                                        "codec",  "hcodec",          "version", "filename",  "mimetype"};
constexpr std::string_view kNamesB[] = {"",      "treeCid", "blockSize", "datasetSize", "codec",
                                        "hcodec", "version", "filename",  "mimetype"};
constexpr std::string_view kNamesC[] = {"",       "treeCid", "blockSize", "datasetSize", "codec",
                                        "hcodec", "version", "erasure",   "filename",    "mimetype"};

constexpr PlainLayout kLayoutA{ManifestFormat::current, {"manifest header", kNamesA}, 1, 2, 3, 4, 5, 6, 7, 0, 8, 9};
constexpr PlainLayout kLayoutB{ManifestFormat::legacy, {"manifest header", kNamesB}, 0, 1, 2, 3, 4, 5, 6, 0, 7, 8};
constexpr PlainLayout kLayoutC{ManifestFormat::nim_codex, {"manifest header", kNamesC}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

// Format C's ErasureInfo and its nested VerificationInfo.
constexpr std::string_view kErasureNames[] = {"",
                                              "ecK",
                                              "ecM",
                                              "originalTreeCid",
                                              "originalDatasetSize",
                                              "protectedStrategy",
                                              "verification"};
constexpr Schema kErasureSchema{"manifest erasure info", kErasureNames};
constexpr std::string_view kVerificationNames[] = {"", "verifyRoot", "slotRoots", "cellSize",
                                                   "verifiableStrategy"};
constexpr Schema kVerificationSchema{"manifest verification info", kVerificationNames};

constexpr std::uint64_t bit(std::uint32_t field) { return 1ull << field; }

Bytes encode_plain(const Manifest& manifest, const PlainLayout& layout) {
  Writer header;
  if (layout.manifest_version != 0) header.varint(layout.manifest_version, 0);
  header.bytes(layout.tree, manifest.tree.bytes());
  header.varint(layout.block_size, manifest.block_size);
  header.varint(layout.dataset_size, manifest.dataset_size);
  header.varint(layout.codec, manifest.codec);
  header.varint(layout.hcodec, manifest.hcodec);
  header.varint(layout.version, manifest.cid_version);
  if (manifest.filename && !manifest.filename->empty()) header.string(layout.filename, *manifest.filename);
  if (manifest.mimetype && !manifest.mimetype->empty()) header.string(layout.mimetype, *manifest.mimetype);
  Writer outer;
  outer.bytes(kOuterPlainHeader, header.data());
  return outer.take();
}

// True when `payload` has the exact shape of format C's ErasureInfo: only its
// fields 1-6, each with its wire type, fields 1-5 all present. A filename
// cannot have it: it would start with byte 0x08 (field 1, varint).
bool looks_like_erasure_info(ByteView payload) {
  Reader reader(payload, 0, kErasureSchema);
  std::uint64_t seen = 0;
  while (!reader.done()) {
    auto field = reader.next();
    if (!field || !kErasureSchema.known(field->number)) return false;
    const bool bytes_field = field->number == 3 || field->number == 6;
    if (field->type != (bytes_field ? WireType::length_delimited : WireType::varint)) return false;
    seen |= bit(field->number);
  }
  const std::uint64_t required = bit(1) | bit(2) | bit(3) | bit(4) | bit(5);
  return (seen & required) == required;
}

// B and C share fields 1-6. B has 7 filename, 8 mimetype; C has 7 ErasureInfo
// (only when protected), 8 filename, 9 mimetype. The rule: C when field 9 is
// present (B has none) or field 7 has ErasureInfo's shape; B otherwise. The
// one header this cannot tell apart has field 8 alone: B with a mimetype and
// no filename, or an unprotected C with a filename and no mimetype. It is read
// as B, the layout deployed more recently. A header that does not parse is
// read as B too: the decoder then reports the error, which is the same for both.
const PlainLayout& choose_b_or_c(const Field& header) {
  Reader reader(header.payload, header.payload_offset, kLayoutC.schema);
  while (!reader.done()) {
    auto field = reader.next();
    if (!field) return kLayoutB;
    if (field->number == 9) return kLayoutC;
    if (field->number == 7 && field->type == WireType::length_delimited && looks_like_erasure_info(field->payload))
      return kLayoutC;
  }
  return kLayoutB;
}

Result<std::vector<Cid>> decode_verification(const Field& info, ErasureInfo& erasure) {
  Reader reader(info.payload, info.payload_offset, kVerificationSchema);
  std::vector<Cid> slot_roots;
  std::uint64_t seen = 0;
  while (!reader.done()) {
    CODEX_TRY_ASSIGN(Field field, reader.next());
    if (field.number == 2) {  // repeated
      CODEX_TRY_ASSIGN(Cid root, reader.cid(field));
      slot_roots.push_back(std::move(root));
      continue;
    }
    if (!kVerificationSchema.known(field.number)) continue;
    CODEX_TRY(reader.once(field, seen));
    if (field.number == 1) {
      CODEX_TRY_ASSIGN(erasure.verify_root, reader.cid(field));
    } else if (field.number == 3) {
      CODEX_TRY_ASSIGN(erasure.cell_size, reader.uint32(field));
    } else if (field.number == 4) {
      CODEX_TRY_ASSIGN(std::uint32_t strategy, reader.uint32(field));
      if (strategy > 1) return reader.invalid(field, fmt::format("is {} (0 linear or 1 stepped)", strategy));
    }
  }
  for (std::uint32_t required : {1u, 3u, 4u})
    if (!(seen & bit(required))) return reader.missing(required);
  return slot_roots;
}

Result<ErasureInfo> decode_erasure_info(const Field& info, const Reader& header) {
  CODEX_TRY(header.bytes(info));
  Reader reader(info.payload, info.payload_offset, kErasureSchema);
  ErasureInfo erasure;
  erasure.backend = "leopard";  // nim-codex's only erasure code
  erasure.cell_size = 0;        // unless verification info says otherwise
  std::uint64_t seen = 0;
  while (!reader.done()) {
    CODEX_TRY_ASSIGN(Field field, reader.next());
    if (!kErasureSchema.known(field.number)) continue;
    CODEX_TRY(reader.once(field, seen));
    switch (field.number) {
      case 1: {
        CODEX_TRY_ASSIGN(erasure.k, reader.uint32(field));
        if (erasure.k == 0) return reader.invalid(field, "is 0 (at least one data block per group)");
        break;
      }
      case 2: {
        CODEX_TRY_ASSIGN(erasure.m, reader.uint32(field));
        break;
      }
      case 3: {
        CODEX_TRY_ASSIGN(erasure.original_tree, reader.cid(field));
        break;
      }
      case 4: {
        CODEX_TRY_ASSIGN(erasure.original_dataset_size, reader.varint(field));
        break;
      }
      case 5: {
        CODEX_TRY_ASSIGN(erasure.strategy, reader.uint32(field));
        if (erasure.strategy > 1)
          return reader.invalid(field, fmt::format("is {} (0 linear or 1 stepped)", erasure.strategy));
        break;
      }
      case 6: {
        CODEX_TRY(reader.bytes(field));
        CODEX_TRY_ASSIGN(erasure.slot_roots, decode_verification(field, erasure));
        break;
      }
    }
  }
  for (std::uint32_t required : {1u, 2u, 3u, 4u, 5u})
    if (!(seen & bit(required))) return reader.missing(required);
  return erasure;
}

Result<Manifest> decode_plain_header(const Field& header, const PlainLayout& layout) {
  Reader reader(header.payload, header.payload_offset, layout.schema);
  Manifest manifest;
  manifest.format = layout.format;
  std::uint64_t seen = 0;
  while (!reader.done()) {
    CODEX_TRY_ASSIGN(Field field, reader.next());
    if (!layout.schema.known(field.number)) continue;  // protobuf: unknown fields are skipped
    CODEX_TRY(reader.once(field, seen));
    const std::uint32_t n = field.number;
    if (n == layout.manifest_version) {
      CODEX_TRY_ASSIGN(std::uint64_t version, reader.varint(field));
      if (version != 0)
        return reader.invalid(field, fmt::format("is {}: only manifest version 0 is supported", version));
    } else if (n == layout.tree) {
      CODEX_TRY_ASSIGN(manifest.tree, reader.cid(field));
    } else if (n == layout.block_size) {
      CODEX_TRY_ASSIGN(manifest.block_size, reader.varint(field));
      if (manifest.block_size == 0) return reader.invalid(field, "is 0 (a block has at least one byte)");
    } else if (n == layout.dataset_size) {
      CODEX_TRY_ASSIGN(manifest.dataset_size, reader.varint(field));
    } else if (n == layout.codec) {
      CODEX_TRY_ASSIGN(manifest.codec, reader.varint(field));
    } else if (n == layout.hcodec) {
      CODEX_TRY_ASSIGN(manifest.hcodec, reader.varint(field));
    } else if (n == layout.version) {
      CODEX_TRY_ASSIGN(manifest.cid_version, reader.varint(field));
    } else if (n == layout.filename) {
      CODEX_TRY_ASSIGN(manifest.filename, reader.string(field));
    } else if (n == layout.mimetype) {
      CODEX_TRY_ASSIGN(manifest.mimetype, reader.string(field));
    } else if (n == layout.erasure) {
      CODEX_TRY_ASSIGN(manifest.erasure, decode_erasure_info(field, reader));
    }
  }
  for (std::uint32_t required : {layout.tree, layout.block_size, layout.dataset_size})
    if (!(seen & bit(required))) return reader.missing(required);
  return manifest;
}

}  // namespace

const char* manifest_format_name(ManifestFormat format) {
  switch (format) {
    case ManifestFormat::current: return "current";
    case ManifestFormat::legacy: return "legacy";
    case ManifestFormat::nim_codex: return "nim-codex";
    case ManifestFormat::protected_v1: return "protected";
  }
  return "unknown";
}

std::uint64_t Manifest::block_count() const {
  if (block_size == 0) return 1;  // never decoded; a guard for hand-made values
  if (erasure) return dataset_size / block_size;
  const std::uint64_t blocks = dataset_size / block_size + (dataset_size % block_size != 0 ? 1 : 0);
  return blocks == 0 ? 1 : blocks;
}

std::string describe_cid(const Cid& cid) {
  if (!cid.valid()) return "none";
  return fmt::format("{} ({})", cid.to_string(), codec_name(cid.codec()));
}

Result<Bytes> encode_manifest(const Manifest& manifest, ManifestFormat format) {
  if (manifest.erasure) return encode_protected_manifest(manifest);
  if (!manifest.tree.valid()) return make_error(Errc::usage, "manifest to encode has no treeCid");
  if (manifest.block_size == 0) return make_error(Errc::usage, "manifest to encode has blockSize 0");
  switch (format) {
    case ManifestFormat::current:
    case ManifestFormat::legacy: {
      Bytes bytes = encode_plain(manifest, format == ManifestFormat::current ? kLayoutA : kLayoutB);
      // Detection of B against C looks at the filename's bytes, so a filename
      // can make a legacy header read as another layout. Whatever cannot be
      // read back as written is refused rather than written.
      auto back = decode_manifest(bytes);
      if (!back || back->format != format || back->tree != manifest.tree || back->block_size != manifest.block_size ||
          back->dataset_size != manifest.dataset_size || back->filename.value_or("") != manifest.filename.value_or("") ||
          back->mimetype.value_or("") != manifest.mimetype.value_or("") || back->erasure)
        return make_error(Errc::usage,
                          "this manifest cannot be written in the {} layout: a reader would not read it back as "
                          "written (its filename or mimetype looks like another layout's fields); use another "
                          "--manifest-format or filename",
                          manifest_format_name(format));
      return bytes;
    }
    case ManifestFormat::nim_codex:
      return make_error(Errc::usage, "manifest format 'nim-codex' (C) can be decoded but not encoded");
    case ManifestFormat::protected_v1:
      return make_error(Errc::usage, "manifest format 'protected' needs erasure information, and there is none");
  }
  return make_error(Errc::usage, "unknown manifest format {}", static_cast<int>(format));
}

Result<Manifest> decode_manifest(ByteView bytes) {
  Reader outer(bytes, 0, kOuterSchema);
  std::optional<Field> plain, protected_header;
  std::uint64_t seen = 0;
  while (!outer.done()) {
    CODEX_TRY_ASSIGN(Field field, outer.next());
    if (!kOuterSchema.known(field.number)) continue;
    CODEX_TRY(outer.once(field, seen));
    CODEX_TRY(outer.bytes(field));
    (field.number == kOuterPlainHeader ? plain : protected_header) = field;
  }
  if (plain && protected_header)
    return make_error(Errc::corrupt, "manifest has both a plain header (field 1) and a protected one (field 2)");
  if (protected_header) return decode_protected_header(*protected_header);
  if (!plain)
    return make_error(Errc::corrupt, "manifest has no header (neither field 1, plain, nor field 2, protected)");

  const ByteView header = plain->payload;
  if (header.empty()) return make_error(Errc::corrupt, "manifest header (field 1) is empty");
  if (header[0] == 0x08) return decode_plain_header(*plain, kLayoutA);
  if (header[0] == 0x0a) return decode_plain_header(*plain, choose_b_or_c(*plain));
  return make_error(Errc::corrupt,
                    "manifest header starts with byte 0x{:02x} at byte {}; expected 0x08 (format A) or 0x0a "
                    "(formats B and C)",
                    header[0], plain->payload_offset);
}

}  // namespace codex
