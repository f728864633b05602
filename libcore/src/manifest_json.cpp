// A manifest as one line of JSON, for --manifest and --json output. Keys are a
// stable interface for scripts: cid, format, treeCid, blockSize, datasetSize,
// blocks, codec, hcodec, filename, mimetype, and "erasure" when protected.
// Filenames come from whoever made the manifest, so strings are escaped fully:
// quotes, backslashes and control characters, and bytes that are not UTF-8
// become U+FFFD.
#include <string>
#include <string_view>

#include "codex/manifest.hpp"

namespace codex {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  std::size_t length;
  std::uint32_t code;
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) { length = 2; code = lead & 0x1f; }
  else if (lead >= 0xe0 && lead <= 0xef) { length = 3; code = lead & 0x0f; }
  else if (lead >= 0xf0 && lead <= 0xf4) { length = 4; code = lead & 0x07; }
  else return 0;
  if (i + length > s.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = code << 6 | (byte(i + k) & 0x3f);
  }
  if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000)) return 0;  // overlong
  if (code >= 0xd800 && code <= 0xdfff) return 0;                                 // surrogate
  if (code > 0x10ffff) return 0;
  return length;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\u{:04x}", c);
      ++i;
      continue;
    }
    const std::size_t length = utf8_sequence(s, i);
    if (length == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(s.substr(i, length));
      i += length;
    }
  }
  out.push_back('"');
}

void append_optional(std::string& out, const std::optional<std::string>& s) {
  if (s) append_json_string(out, *s);
  else out += "null";
}

void append_cid(std::string& out, const Cid& cid) {
  if (cid.valid()) append_json_string(out, cid.to_string());
  else out += "null";
}

void append_erasure(std::string& out, const ErasureInfo& ec) {
  out += fmt::format("{{\"k\":{},\"m\":{},\"originalTreeCid\":", ec.k, ec.m);
  append_cid(out, ec.original_tree);
  out += fmt::format(",\"originalDatasetSize\":{},\"strategy\":", ec.original_dataset_size);
  append_json_string(out, ec.strategy == 1 ? "stepped" : ec.strategy == 0 ? "linear" : std::to_string(ec.strategy));
  out += ",\"backend\":";
  append_json_string(out, ec.backend);
  out += fmt::format(",\"cellSize\":{},\"slotRoots\":[", ec.cell_size);
  for (std::size_t i = 0; i < ec.slot_roots.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_cid(out, ec.slot_roots[i]);
  }
  out += "],\"verifyRoot\":";
  append_cid(out, ec.verify_root);
  out.push_back('}');
}

}  // namespace

std::string manifest_to_json(const Manifest& manifest, const Cid& cid) {
  // A hand-made manifest may carry erasure info with a plain format; it is
  // protected all the same.
  const bool plain_format = manifest.format == ManifestFormat::current || manifest.format == ManifestFormat::legacy;
  const char* format = manifest.erasure && plain_format ? manifest_format_name(ManifestFormat::protected_v1)
                                                        : manifest_format_name(manifest.format);
  std::string out = "{\"cid\":";
  append_cid(out, cid);
  out += ",\"format\":";
  append_json_string(out, format);
  out += ",\"treeCid\":";
  append_cid(out, manifest.tree);
  out += fmt::format(",\"blockSize\":{},\"datasetSize\":{},\"blocks\":{},\"codec\":", manifest.block_size,
                     manifest.dataset_size, manifest.block_count());
  append_json_string(out, codec_name(manifest.codec));
  out += ",\"hcodec\":";
  append_json_string(out, codec_name(manifest.hcodec));
  out += ",\"filename\":";
  append_optional(out, manifest.filename);
  out += ",\"mimetype\":";
  append_optional(out, manifest.mimetype);
  if (manifest.erasure) {
    out += ",\"erasure\":";
    append_erasure(out, *manifest.erasure);
  }
  out.push_back('}');
  return out;
}

}  // namespace codex
