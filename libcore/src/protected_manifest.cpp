// Format P: this toolkit's manifest for an erasure-coded ("protected") dataset,
// specified in docs/protected-manifest.md. Its header is outer field 2, so a
// Codex node, which reads only field 1, fails to decode it instead of taking
// the parity-padded dataset for a plain one.
//
// The same checks guard both directions: encoding refuses (Errc::usage) what
// decoding would refuse (Errc::corrupt), so the toolkit never writes a
// manifest it cannot read back.
#include <cctype>

#include "codex/codex_tree.hpp"
#include "codex/layout.hpp"
#include "manifest_internal.hpp"

namespace codex {

namespace {

using protobuf::Field;
using protobuf::Reader;
using protobuf::Schema;
using protobuf::Writer;

enum PField : std::uint32_t {
  kManifestVersion = 1,
  kTree,
  kBlockSize,
  kDatasetSize,
  kCodec,
  kHcodec,
  kVersion,
  kFilename,
  kMimetype,
  kEcK,
  kEcM,
  kOriginalTree,
  kOriginalDatasetSize,
  kStrategy,
  kBackend,
  kCellSize,
  kSlotRoots,
  kVerifyRoot,
};

constexpr std::string_view kNames[] = {
    "",         "manifestVersion", "treeCid", "blockSize",       "datasetSize",         "codec",
    "hcodec",   "version",         "filename", "mimetype",       "ecK",                 "ecM",
    "originalTreeCid", "originalDatasetSize", "strategy", "backend", "cellSize", "slotRoots",
    "verifyRoot"};
constexpr Schema kSchema{"protected manifest header", kNames};

constexpr std::uint64_t kProtectedVersion = 1;
constexpr std::uint32_t kSteppedStrategy = 1;
constexpr std::size_t kMaxBackendName = 64;

bool is_sha256_cid(const Cid& cid, std::uint64_t codec) {
  return cid.valid() && cid.codec() == codec && cid.sha256_digest().has_value();
}

bool is_backend_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxBackendName) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

// The stepped layout's total block count, or nullopt past 2^64 blocks.
std::optional<std::uint64_t> stepped_total(std::uint64_t blocks, std::uint32_t k, std::uint32_t m) {
  using u128 = unsigned __int128;
  const u128 rounded = (static_cast<u128>(blocks) + k - 1) / k * k;
  const u128 total = rounded + rounded / k * m;
  if (total > ~std::uint64_t{0}) return std::nullopt;
  return static_cast<std::uint64_t>(total);
}

}  // namespace

Status check_protected_manifest(const Manifest& manifest, Errc code) {
  auto fail = [code](std::string why) { return Error{code, "protected manifest " + why}; };
  if (!manifest.erasure) return fail("has no erasure information");
  const ErasureInfo& ec = *manifest.erasure;

  if (!is_sha256_cid(manifest.tree, codec::root))
    return fail(fmt::format("treeCid {} is not a codex-root CID over sha2-256", describe_cid(manifest.tree)));
  if (manifest.block_size == 0) return fail("has blockSize 0");
  if (manifest.codec != codec::block)
    return fail(fmt::format("has block codec {}, expected codex-block", codec_name(manifest.codec)));
  if (manifest.hcodec != multihash_code::sha2_256)
    return fail(fmt::format("has block hash {}, expected sha2-256", codec_name(manifest.hcodec)));
  if (manifest.cid_version != 2)
    return fail(fmt::format("has CID version {}, expected 2 (CIDv1)", manifest.cid_version));

  if (ec.k < 1) return fail("has K = 0 (a group needs at least one data block)");
  if (ec.m < 1) return fail("has M = 0 (a group needs at least one parity block)");
  if (static_cast<std::uint64_t>(ec.k) + ec.m > kMaxFragments)
    return fail(fmt::format("has K+M = {}+{}, more than {}", ec.k, ec.m, kMaxFragments));
  if (!is_sha256_cid(ec.original_tree, codec::root))
    return fail(fmt::format("originalTreeCid {} is not a codex-root CID over sha2-256",
                            describe_cid(ec.original_tree)));
  if (ec.strategy != kSteppedStrategy)
    return fail(fmt::format("has strategy {}; only 1 (stepped) is supported", ec.strategy));
  if (!is_backend_name(ec.backend))
    return fail(fmt::format("backend '{}' is not a backend name (1-{} letters, digits, '_', '-', '.')",
                            ec.backend.substr(0, kMaxBackendName), kMaxBackendName));
  if (ec.cell_size == 0 || manifest.block_size % ec.cell_size != 0)
    return fail(fmt::format("cellSize {} does not divide blockSize {}", ec.cell_size, manifest.block_size));

  // An empty dataset is one all-zero block, so there is always at least one.
  const std::uint64_t blocks = std::max<std::uint64_t>(
      1, ec.original_dataset_size / manifest.block_size + (ec.original_dataset_size % manifest.block_size != 0));
  const auto total = stepped_total(blocks, ec.k, ec.m);
  using u128 = unsigned __int128;
  if (!total || static_cast<u128>(*total) * manifest.block_size != manifest.dataset_size)
    return fail(fmt::format(
        "datasetSize {} does not fit the stepped layout: {} original bytes in blocks of {} with K={} M={} "
        "make {} blocks",
        manifest.dataset_size, ec.original_dataset_size, manifest.block_size, ec.k, ec.m,
        total ? fmt::format("{}", *total) : std::string("more than 2^64")));

  if (ec.slot_roots.size() != static_cast<std::size_t>(ec.k) + ec.m)
    return fail(fmt::format("has {} slot roots, expected K+M = {}", ec.slot_roots.size(), ec.k + ec.m));
  std::vector<Digest> slot_digests;
  slot_digests.reserve(ec.slot_roots.size());
  for (std::size_t i = 0; i < ec.slot_roots.size(); ++i) {
    if (!is_sha256_cid(ec.slot_roots[i], codec::slot_root))
      return fail(fmt::format("slot root {} {} is not a codex-slot-root CID over sha2-256", i,
                              describe_cid(ec.slot_roots[i])));
    slot_digests.push_back(*ec.slot_roots[i].sha256_digest());
  }
  if (!is_sha256_cid(ec.verify_root, codec::proving_root))
    return fail(fmt::format("verifyRoot {} is not a codex-proving-root CID over sha2-256",
                            describe_cid(ec.verify_root)));
  CODEX_TRY_ASSIGN(Digest expected, codex_tree_root(slot_digests));
  if (expected != *ec.verify_root.sha256_digest())
    return fail(fmt::format("verifyRoot {} is not the root over its slot roots (expected {})",
                            ec.verify_root.to_string(), Cid::from_digest(codec::proving_root, expected).to_string()));
  return {};
}

Result<Bytes> encode_protected_manifest(const Manifest& manifest) {
  CODEX_TRY(check_protected_manifest(manifest, Errc::usage));
  const ErasureInfo& ec = *manifest.erasure;
  Writer header;
  header.varint(kManifestVersion, kProtectedVersion);
  header.bytes(kTree, manifest.tree.bytes());
  header.varint(kBlockSize, manifest.block_size);
  header.varint(kDatasetSize, manifest.dataset_size);
  header.varint(kCodec, manifest.codec);
  header.varint(kHcodec, manifest.hcodec);
  header.varint(kVersion, manifest.cid_version);
  if (manifest.filename && !manifest.filename->empty()) header.string(kFilename, *manifest.filename);
  if (manifest.mimetype && !manifest.mimetype->empty()) header.string(kMimetype, *manifest.mimetype);
  header.varint(kEcK, ec.k);
  header.varint(kEcM, ec.m);
  header.bytes(kOriginalTree, ec.original_tree.bytes());
  header.varint(kOriginalDatasetSize, ec.original_dataset_size);
  header.varint(kStrategy, ec.strategy);
  header.string(kBackend, ec.backend);
  header.varint(kCellSize, ec.cell_size);
  for (const Cid& root : ec.slot_roots) header.bytes(kSlotRoots, root.bytes());
  header.bytes(kVerifyRoot, ec.verify_root.bytes());
  Writer outer;
  outer.bytes(kOuterProtectedHeader, header.data());
  return outer.take();
}

Result<Manifest> decode_protected_header(const Field& header) {
  Reader reader(header.payload, header.payload_offset, kSchema);
  Manifest manifest;
  manifest.format = ManifestFormat::protected_v1;
  ErasureInfo& ec = manifest.erasure.emplace();
  std::uint64_t seen = 0;
  while (!reader.done()) {
    CODEX_TRY_ASSIGN(Field field, reader.next());
    if (!kSchema.known(field.number)) continue;  // protobuf: unknown fields are skipped
    if (field.number == kSlotRoots) {            // repeated, at most kMaxFragments times
      if (ec.slot_roots.size() == kMaxFragments)
        return reader.invalid(field, fmt::format("is one more than the {} slots there can be", kMaxFragments));
      CODEX_TRY_ASSIGN(Cid root, reader.cid(field));
      ec.slot_roots.push_back(std::move(root));
      continue;
    }
    CODEX_TRY(reader.once(field, seen));
    switch (static_cast<PField>(field.number)) {
      case kManifestVersion: {
        CODEX_TRY_ASSIGN(std::uint64_t version, reader.varint(field));
        if (version != kProtectedVersion)
          return reader.invalid(field, fmt::format("is {}: only protected manifest version {} is supported",
                                                   version, kProtectedVersion));
        break;
      }
      case kTree: { CODEX_TRY_ASSIGN(manifest.tree, reader.cid(field)); break; }
      case kBlockSize: { CODEX_TRY_ASSIGN(manifest.block_size, reader.varint(field)); break; }
      case kDatasetSize: { CODEX_TRY_ASSIGN(manifest.dataset_size, reader.varint(field)); break; }
      case kCodec: { CODEX_TRY_ASSIGN(manifest.codec, reader.varint(field)); break; }
      case kHcodec: { CODEX_TRY_ASSIGN(manifest.hcodec, reader.varint(field)); break; }
      case kVersion: { CODEX_TRY_ASSIGN(manifest.cid_version, reader.varint(field)); break; }
      case kFilename: { CODEX_TRY_ASSIGN(manifest.filename, reader.string(field)); break; }
      case kMimetype: { CODEX_TRY_ASSIGN(manifest.mimetype, reader.string(field)); break; }
      case kEcK: { CODEX_TRY_ASSIGN(ec.k, reader.uint32(field)); break; }
      case kEcM: { CODEX_TRY_ASSIGN(ec.m, reader.uint32(field)); break; }
      case kOriginalTree: { CODEX_TRY_ASSIGN(ec.original_tree, reader.cid(field)); break; }
      case kOriginalDatasetSize: { CODEX_TRY_ASSIGN(ec.original_dataset_size, reader.varint(field)); break; }
      case kStrategy: { CODEX_TRY_ASSIGN(ec.strategy, reader.uint32(field)); break; }
      case kBackend: {
        CODEX_TRY_ASSIGN(auto backend, reader.string(field));
        ec.backend = backend.value_or("");
        break;
      }
      case kCellSize: { CODEX_TRY_ASSIGN(ec.cell_size, reader.uint32(field)); break; }
      case kVerifyRoot: { CODEX_TRY_ASSIGN(ec.verify_root, reader.cid(field)); break; }
      case kSlotRoots: break;  // handled above
    }
  }
  for (std::uint32_t required = kManifestVersion; required <= kVerifyRoot; ++required) {
    if (required == kFilename || required == kMimetype || required == kSlotRoots) continue;
    if (!(seen & (1ull << required))) return reader.missing(required);
  }
  CODEX_TRY(check_protected_manifest(manifest, Errc::corrupt));
  return manifest;
}

}  // namespace codex
