// The Codex manifest: the protobuf block that names a dataset (its tree root,
// block size, byte size, optional filename and mimetype). Codex has three
// layouts (docs/codex-formats.md section 4): A (current Logos Storage, emitted by
// default), B (early 2026), C (nim-codex 2025, could say "protected"); this
// toolkit decodes all three and encodes A and B byte for byte. A protected
// (erasure-coded) dataset uses this toolkit's own extension, format P
// (docs/protected-manifest.md), which no Codex node can read as a plain dataset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/cid.hpp"
#include "codex/error.hpp"

namespace codex {

enum class ManifestFormat {
  current,    // A: Logos Storage now (manifestVersion 0)
  legacy,     // B: Logos Storage, early 2026
  nim_codex,  // C: nim-codex 2025 (decode only)
  protected_v1,  // P: this toolkit's protected dataset
};
const char* manifest_format_name(ManifestFormat format);

// What makes a dataset protected: how it was erasure-coded and how to check
// the slots. For format C only k, m, original_tree, original_dataset_size and
// strategy (plus slot_roots/verify_root/cell_size if verifiable) are filled;
// backend is "leopard" (nim-codex's code, not one liberasurecode has) and
// cell_size 0 when C gives no verification info. Such a dataset's parity and
// roots are Codex's, not this toolkit's: tools must not repair or prove it.
struct ErasureInfo {
  std::uint32_t k = 0;
  std::uint32_t m = 0;
  Cid original_tree;                     // treeCid of the plain dataset
  std::uint64_t original_dataset_size = 0;
  std::uint32_t strategy = 1;            // 0 linear, 1 stepped (the only one emitted)
  std::string backend;                   // liberasurecode backend, e.g. "isa_l_rs_cauchy"
  std::uint32_t cell_size = 2048;        // bytes per cell of the slot trees
  std::vector<Cid> slot_roots;           // K+M CIDs, codec codex-slot-root
  Cid verify_root;                       // codec codex-proving-root, tree over slot roots
};

struct Manifest {
  Cid tree;                      // treeCid (codec codex-root)
  std::uint64_t block_size = 65536;
  std::uint64_t dataset_size = 0;   // bytes; for protected: total blocks * block_size
  std::uint64_t codec = 0xCD02;     // block codec
  std::uint64_t hcodec = 0x12;      // multihash of blocks
  std::uint64_t cid_version = 2;    // libp2p's enum ordinal for CIDv1
  std::optional<std::string> filename;
  std::optional<std::string> mimetype;
  std::optional<ErasureInfo> erasure;  // present iff protected
  ManifestFormat format = ManifestFormat::current;  // as decoded

  bool is_protected() const { return erasure.has_value(); }
  // Number of leaves of `tree`: ceil(dataset_size / block_size), at least 1
  // (an empty dataset is one all-zero block; see docs/protected-manifest.md);
  // for a protected manifest dataset_size / block_size (all K+M rows).
  std::uint64_t block_count() const;
};

// Encodes a plain manifest as format A (current) or B (legacy), or a protected
// one as format P: when manifest.erasure is set the format argument is ignored
// and the result is always P, so a protected dataset is never written in a
// layout Codex would read as plain. Errc::usage, with the reason, when asked
// for C, for P without erasure info, for a manifest without treeCid or with
// blockSize 0, or for a protected manifest that breaks a rule of format P
// (anything decode_manifest would refuse).
Result<Bytes> encode_manifest(const Manifest& manifest, ManifestFormat format);
// Decodes any of A, B, C, P; errors (Errc::corrupt) give the reason, the field
// and its byte offset. How B and C are told apart: docs/protected-manifest.md.
Result<Manifest> decode_manifest(ByteView bytes);

// The manifest's CID: codex-manifest over sha2-256 of the encoded bytes.
inline Cid manifest_cid(ByteView encoded) { return Cid::from_digest(codec::manifest, sha256(encoded)); }

// The manifest as a JSON object (one line), for --manifest / --json output.
std::string manifest_to_json(const Manifest& manifest, const Cid& cid);

// The mimetype Codex gives a file name by its extension ("a.txt" -> "text/plain");
// nullopt for no or unknown extension.
std::optional<std::string> mimetype_for_filename(std::string_view filename);

}  // namespace codex
