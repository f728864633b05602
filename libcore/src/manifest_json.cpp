// A manifest as one line of JSON, for --manifest and --json output. Keys are a
// stable interface for scripts: cid, format, treeCid, blockSize, datasetSize,
// blocks, codec, hcodec, filename, mimetype, and "erasure" when protected.
// Filenames come from whoever made the manifest, so strings go through
// json_quote (json.hpp), which escapes them fully.
#include <string>
#include <string_view>

#include "codex/json.hpp"
#include "codex/manifest.hpp"

namespace codex {

namespace {

void append_json_string(std::string& out, std::string_view s) { out += json_quote(s); }

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
