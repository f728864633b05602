// Proving and checking held slots; see audit.hpp. The first proof of a slot
// reads the whole slot for its blocks' cell roots (the slot tree's leaves) and
// caches them in the repository; later proofs read only the challenged blocks.
#include "codex/audit.hpp"

#include "codex/block_source.hpp"
#include "codex/codex_tree.hpp"
#include "codex/dataset.hpp"
#include "codex/json.hpp"
#include "codex/parallel.hpp"

namespace codex {

namespace {

// The cell roots of every block of a slot: the slot's whole bytes, read (and
// checked against their CIDs) a batch at a time and hashed on every core.
Result<std::vector<Digest>> slot_cell_roots(BlockSource& source, const SlotGeometry& geometry,
                                            const std::vector<Digest>& leaves, std::uint32_t slot,
                                            const Cid& manifest_cid) {
  const std::uint64_t first = static_cast<std::uint64_t>(slot) * geometry.blocks_in_slot;
  std::vector<Digest> roots(geometry.blocks_in_slot);
  Bytes zeros;
  CODEX_TRY(read_batches(source, std::span<const Digest>(leaves.data() + first, geometry.blocks_in_slot),
                         kBlocksPerBatch, [&](std::size_t start, std::span<Bytes> blocks, std::span<Status> status) -> Status {
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      if (!status[i].ok())
        return make_error(status[i].error().code == Errc::not_found ? Errc::corrupt : status[i].error().code,
                          "slot {} of '{}' is damaged, so no proof can be made: {}", slot, manifest_cid.to_string(),
                          status[i].error().message);
      if (geometry.is_padding(slot, start + i)) {
        if (zeros.empty()) zeros.assign(geometry.block_size, 0);
        blocks[i] = zeros;
      }
    }
    default_pool().for_each(blocks.size(), [&](std::size_t i) {
      roots[start + i] = block_cell_root(blocks[i], geometry.cell_size);
    });
    return {};
  }));
  return roots;
}

}  // namespace

Result<StorageProof> prove_slot(Repository& repository, BlockSource& source, const Cid& manifest_cid, std::uint32_t slot,
                                ByteView challenge, std::uint32_t samples) {
  CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(repository, manifest_cid));
  const Manifest& manifest = record.manifest;
  if (!manifest.is_protected())
    return make_error(Errc::usage, "dataset '{}' is plain: only protected datasets have slots to prove",
                      manifest_cid.to_string());
  CODEX_TRY_ASSIGN(SlotGeometry geometry, slot_geometry(manifest));
  if (slot >= geometry.slots)
    return make_error(Errc::usage, "dataset '{}' has slots 0-{}; there is no slot {}", manifest_cid.to_string(),
                      geometry.slots - 1, slot);
  if (!record.holds_slot(slot))
    return make_error(Errc::usage, "this repository does not hold slot {} of '{}'", slot, manifest_cid.to_string());
  CODEX_TRY_ASSIGN(std::vector<Digest> leaves, repository.tree_leaves(manifest.tree));
  const std::uint64_t first = static_cast<std::uint64_t>(slot) * geometry.blocks_in_slot;
  auto read = [&](std::uint64_t block_in_slot) -> Result<Bytes> {
    Bytes out;
    CODEX_TRY(source.read(leaves[first + block_in_slot], out));
    return out;
  };
  auto prove = [&](const std::vector<Digest>& roots) {
    return make_storage_proof(manifest, manifest_cid, slot, challenge, roots, read, samples);
  };
  CODEX_TRY_ASSIGN(auto cached, repository.slot_block_roots(manifest_cid, slot));
  if (cached && cached->size() == geometry.blocks_in_slot) {
    auto proof = prove(*cached);
    // Errc::corrupt: the cache no longer gives the slot root, or a challenged
    // block is damaged; recomputing from the slot itself tells which.
    if (proof || proof.error().code != Errc::corrupt) return proof;
  }
  CODEX_TRY_ASSIGN(std::vector<Digest> roots, slot_cell_roots(source, geometry, leaves, slot, manifest_cid));
  auto proof = prove(roots);
  // The cache is an optimisation: a read-only repository just goes without.
  if (proof && !repository.read_only()) CODEX_TRY(repository.store_slot_block_roots(manifest_cid, slot, roots));
  return proof;
}

Status check_proof(Repository& repository, const StorageProof& proof, const ProofExpectations& expect) {
  CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(repository, proof.manifest));
  return check_storage_proof(proof, record.manifest, record.manifest_cid, expect);
}

Result<StorageProof> read_proof(ByteSource& input) {
  Bytes text;
  Bytes chunk(1 << 16);
  for (;;) {
    CODEX_TRY_ASSIGN(std::size_t n, input.read_some(chunk));
    if (n == 0) break;
    if (text.size() + n > kMaxProofJsonSize)
      return make_error(Errc::corrupt, "proof '{}' is too large (over {} bytes)", input.name(), kMaxProofJsonSize);
    text.insert(text.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
  }
  auto proof = proof_from_json(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
  if (!proof) return make_error(Errc::corrupt, "proof '{}' is malformed: {}", input.name(), proof.error().message);
  return proof;
}

Result<Bytes> parse_challenge(std::string_view hex) {
  auto bytes = from_hex(hex);
  if (!bytes || bytes->size() != kChallengeSize)
    return make_error(Errc::usage, "bad --challenge '{}': give {} bytes as {} hex digits",
                      hex.substr(0, 2 * kChallengeSize + 8), kChallengeSize, 2 * kChallengeSize);
  return std::move(*bytes);
}

std::string proof_check_json(const StorageProof& proof, const Status& checked) {
  JsonObject report;
  report.add("manifest", proof.manifest.to_string()).add("slot", proof.slot).add("valid", checked.ok());
  if (!checked.ok()) report.add("reason", checked.error().message);
  return report.str();
}

}  // namespace codex
