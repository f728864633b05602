// Proving and checking held slots; see audit.hpp. Proving reads the whole
// slot once to get its blocks' cell roots (the slot tree's leaves); the proof
// itself needs only the challenged blocks.
#include "codex/audit.hpp"

#include "codex/block_source.hpp"
#include "codex/codex_tree.hpp"
#include "codex/dataset.hpp"
#include "codex/parallel.hpp"

namespace codex {

Result<StorageProof> prove_slot(Repository& repository, const Cid& manifest_cid, std::uint32_t slot,
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
  auto source = repository_source(repository);

  // The slot's blocks, a batch at a time, for their cell roots.
  const std::uint64_t first = static_cast<std::uint64_t>(slot) * geometry.blocks_in_slot;
  std::vector<Digest> roots(geometry.blocks_in_slot);
  constexpr std::size_t kBatch = 64;
  std::vector<Bytes> blocks(kBatch);
  std::vector<Status> status(kBatch);
  Bytes zeros;
  for (std::uint64_t start = 0; start < geometry.blocks_in_slot; start += kBatch) {
    const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(kBatch, geometry.blocks_in_slot - start));
    source->read_many(std::span<const Digest>(leaves.data() + first + start, count),
                      std::span<Bytes>(blocks.data(), count), std::span<Status>(status.data(), count));
    for (std::size_t i = 0; i < count; ++i) {
      if (!status[i].ok())
        return make_error(status[i].error().code == Errc::not_found ? Errc::corrupt : status[i].error().code,
                          "slot {} of '{}' is damaged, so no proof can be made: {}", slot, manifest_cid.to_string(),
                          status[i].error().message);
      if (geometry.is_padding(slot, start + i)) {
        if (zeros.empty()) zeros.assign(geometry.block_size, 0);
        blocks[i] = zeros;
      }
    }
    default_pool().for_each(count, [&](std::size_t i) {
      roots[start + i] = block_cell_root(blocks[i], geometry.cell_size);
    });
  }
  return make_storage_proof(manifest, manifest_cid, slot, challenge, roots,
                            [&](std::uint64_t block_in_slot) -> Result<Bytes> {
                              Bytes out;
                              CODEX_TRY(source->read(leaves[first + block_in_slot], out));
                              return out;
                            },
                            samples);
}

Status check_proof(Repository& repository, const StorageProof& proof, const ProofExpectations& expect) {
  CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(repository, proof.manifest));
  return check_storage_proof(proof, record.manifest, record.manifest_cid, expect);
}

}  // namespace codex
