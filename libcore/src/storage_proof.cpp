// Challenges, and making and checking storage proofs. The checker trusts only
// the manifest: every digest in a proof is recomputed or verified against the
// slot root the manifest names, and every index against the challenge, so a
// proof passes only if its maker could read the challenged cells of that slot.
#include "codex/storage_proof.hpp"

#include <algorithm>

namespace codex {
namespace {

// Domain separation: these hashes mean "cell choice of a storage proof" and
// nothing else in the toolkit.
constexpr std::string_view kChallengeDomain = "codex-tools/storage-proof/v1";

// Path length of a CodexTree proof over `leaves` leaves: even a one-leaf tree
// has one compression above its leaf.
std::size_t tree_depth(std::uint64_t leaves) {
  std::size_t depth = 0;
  do {
    leaves = (leaves + 1) / 2;
    ++depth;
  } while (leaves > 1);
  return depth;
}

Result<Digest> manifest_slot_root(const Manifest& manifest, std::uint32_t slot) {
  const Cid& root = manifest.erasure->slot_roots[slot];
  auto digest = root.sha256_digest();
  if (root.codec() != codec::slot_root || !digest)
    return make_error(Errc::corrupt, "the manifest's slot root {} ('{}') is not a sha2-256 codex-slot-root CID", slot,
                      root.valid() ? root.to_string() : std::string("empty"));
  return *digest;
}

Status check_request(const SlotGeometry& geometry, std::uint32_t slot, ByteView challenge, std::uint32_t samples) {
  if (slot >= geometry.slots)
    return make_error(Errc::usage, "slot {} is past the last slot of the manifest ({} slots)", slot, geometry.slots);
  if (challenge.size() != kChallengeSize)
    return make_error(Errc::usage, "a challenge must be {} bytes, this one is {}", kChallengeSize, challenge.size());
  if (samples == 0 || samples > kMaxProofSamples)
    return make_error(Errc::usage, "samples must be from 1 to {}, not {}", kMaxProofSamples, samples);
  return {};
}

}  // namespace

std::vector<CellIndex> challenged_cells(ByteView challenge, const Cid& slot_root, std::uint64_t blocks_in_slot,
                                        std::uint32_t cells_per_block, std::uint32_t samples) {
  unsigned __int128 wide = static_cast<unsigned __int128>(blocks_in_slot) * cells_per_block;
  if (wide == 0 || wide > UINT64_MAX) return {};
  auto cell_count = static_cast<std::uint64_t>(wide);

  const Bytes& root = slot_root.bytes();
  Bytes input(kChallengeDomain.size() + challenge.size() + root.size() + 4);
  std::uint8_t* cursor = std::copy(kChallengeDomain.begin(), kChallengeDomain.end(), input.data());
  cursor = std::copy(challenge.begin(), challenge.end(), cursor);
  std::uint8_t* counter = std::copy(root.begin(), root.end(), cursor);

  std::vector<CellIndex> cells;
  cells.reserve(samples);
  for (std::uint32_t j = 0; j < samples; ++j) {
    counter[0] = static_cast<std::uint8_t>(j >> 24);
    counter[1] = static_cast<std::uint8_t>(j >> 16);
    counter[2] = static_cast<std::uint8_t>(j >> 8);
    counter[3] = static_cast<std::uint8_t>(j);
    Digest digest = sha256(input);
    // The whole 256-bit number modulo the cell count, so there is no bias
    // beyond the negligible one of reducing 2^256 values.
    unsigned __int128 remainder = 0;
    for (std::uint8_t byte : digest) remainder = (remainder << 8 | byte) % cell_count;
    auto flat = static_cast<std::uint64_t>(remainder);
    cells.push_back({flat / cells_per_block, static_cast<std::uint32_t>(flat % cells_per_block)});
  }
  return cells;
}

Result<StorageProof> make_storage_proof(const Manifest& manifest, const Cid& manifest_cid, std::uint32_t slot,
                                        ByteView challenge, std::span<const Digest> slot_block_roots,
                                        const SlotBlockReader& read_block, std::uint32_t samples) {
  CODEX_TRY_ASSIGN(SlotGeometry geometry, slot_geometry(manifest));
  CODEX_TRY(check_request(geometry, slot, challenge, samples));
  if (slot_block_roots.size() != geometry.blocks_in_slot)
    return make_error(Errc::usage, "slot {} has {} blocks, but {} block roots were given", slot,
                      geometry.blocks_in_slot, slot_block_roots.size());
  CODEX_TRY_ASSIGN(CodexTree slot_tree,
                   CodexTree::build(std::vector<Digest>(slot_block_roots.begin(), slot_block_roots.end())));
  return make_storage_proof(manifest, manifest_cid, slot, challenge, slot_tree, read_block, samples);
}

Result<StorageProof> make_storage_proof(const Manifest& manifest, const Cid& manifest_cid, std::uint32_t slot,
                                        ByteView challenge, const CodexTree& slot_tree,
                                        const SlotBlockReader& read_block, std::uint32_t samples) {
  CODEX_TRY_ASSIGN(SlotGeometry geometry, slot_geometry(manifest));
  CODEX_TRY(check_request(geometry, slot, challenge, samples));
  if (slot_tree.leaf_count() != geometry.blocks_in_slot)
    return make_error(Errc::usage, "slot {} has {} blocks, but the slot tree has {} leaves", slot,
                      geometry.blocks_in_slot, slot_tree.leaf_count());
  CODEX_TRY_ASSIGN(Digest expected_root, manifest_slot_root(manifest, slot));
  const Cid& slot_root = manifest.erasure->slot_roots[slot];
  if (slot_tree.root() != expected_root)
    return make_error(Errc::corrupt,
                      "the stored block roots of slot {} give slot root '{}', but the manifest says '{}': "
                      "the holder's copy of the slot is damaged",
                      slot, Cid::from_digest(codec::slot_root, slot_tree.root()).to_string(), slot_root.to_string());

  StorageProof proof;
  proof.manifest = manifest_cid;
  proof.slot = slot;
  proof.challenge.assign(challenge.begin(), challenge.end());
  std::vector<Digest> cell_leaves(geometry.cells_per_block);
  for (const CellIndex& asked :
       challenged_cells(challenge, slot_root, geometry.blocks_in_slot, geometry.cells_per_block, samples)) {
    Bytes block;
    if (geometry.is_padding(slot, asked.block_in_slot)) {
      block.assign(geometry.block_size, 0);  // padding is never stored: it is zeros by definition
    } else {
      CODEX_TRY_ASSIGN(block, read_block(asked.block_in_slot));
    }
    std::uint64_t index = geometry.dataset_index(slot, asked.block_in_slot);
    if (block.size() != geometry.block_size)
      return make_error(Errc::corrupt, "block {} of slot {} (dataset index {}) has {} bytes, not the block size {}",
                        asked.block_in_slot, slot, index, block.size(), geometry.block_size);
    for (std::uint32_t c = 0; c < geometry.cells_per_block; ++c)
      cell_leaves[c] = sha256(ByteView(block).subspan(std::size_t{c} * geometry.cell_size, geometry.cell_size));
    CODEX_TRY_ASSIGN(CodexTree cell_tree, CodexTree::build(cell_leaves));
    if (cell_tree.root() != slot_tree.leaves()[asked.block_in_slot])
      return make_error(Errc::corrupt,
                        "block {} of slot {} (dataset index {}) does not match its cell root: the stored block is "
                        "damaged",
                        asked.block_in_slot, slot, index);

    CellProof cell;
    cell.block_in_slot = asked.block_in_slot;
    cell.cell = asked.cell;
    auto data = ByteView(block).subspan(std::size_t{asked.cell} * geometry.cell_size, geometry.cell_size);
    cell.data.assign(data.begin(), data.end());
    CODEX_TRY_ASSIGN(cell.cell_path, cell_tree.proof(asked.cell));
    cell.block_root = cell_tree.root();
    CODEX_TRY_ASSIGN(cell.block_path, slot_tree.proof(asked.block_in_slot));
    proof.cells.push_back(std::move(cell));
  }
  return proof;
}

Status check_storage_proof(const StorageProof& proof, const Manifest& manifest, const Cid& manifest_cid,
                           const ProofExpectations& expect) {
  if (expect.challenge && expect.challenge->size() != kChallengeSize)
    return make_error(Errc::usage, "the expected challenge must be {} bytes, it is {}", kChallengeSize,
                      expect.challenge->size());
  if (expect.samples && (*expect.samples == 0 || *expect.samples > kMaxProofSamples))
    return make_error(Errc::usage, "samples must be from 1 to {}, not {}", kMaxProofSamples, *expect.samples);

  if (proof.manifest != manifest_cid)
    return make_error(Errc::rejected, "proof is for manifest '{}', not '{}'",
                      proof.manifest.valid() ? proof.manifest.to_string() : std::string("empty"),
                      manifest_cid.to_string());
  auto geometry_or = slot_geometry(manifest);
  if (!geometry_or)
    return make_error(Errc::rejected, "manifest '{}' has no provable slots: {}", manifest_cid.to_string(),
                      geometry_or.error().message);
  const SlotGeometry& geometry = *geometry_or;
  if (expect.slot && proof.slot != *expect.slot)
    return make_error(Errc::rejected, "proof is for slot {}, not slot {}", proof.slot, *expect.slot);
  if (proof.slot >= geometry.slots)
    return make_error(Errc::rejected, "proof is for slot {}, but manifest '{}' has {} slots", proof.slot,
                      manifest_cid.to_string(), geometry.slots);
  if (proof.challenge.size() != kChallengeSize)
    return make_error(Errc::rejected, "proof's challenge is {} bytes, not {}", proof.challenge.size(),
                      kChallengeSize);
  if (expect.challenge && proof.challenge != *expect.challenge)
    return make_error(Errc::rejected, "proof answers challenge {}, not {}", to_hex(proof.challenge),
                      to_hex(*expect.challenge));
  if (expect.samples && proof.cells.size() != *expect.samples)
    return make_error(Errc::rejected, "proof has {} cells, {} were asked for", proof.cells.size(), *expect.samples);
  if (proof.cells.empty() || proof.cells.size() > kMaxProofSamples)
    return make_error(Errc::rejected, "proof has {} cells, it must have from 1 to {}", proof.cells.size(),
                      kMaxProofSamples);
  auto slot_digest_or = manifest_slot_root(manifest, proof.slot);
  if (!slot_digest_or) return make_error(Errc::rejected, "cannot check the proof: {}", slot_digest_or.error().message);
  const Digest& slot_digest = *slot_digest_or;
  const Cid& slot_root = manifest.erasure->slot_roots[proof.slot];

  auto asked = challenged_cells(proof.challenge, slot_root, geometry.blocks_in_slot, geometry.cells_per_block,
                                static_cast<std::uint32_t>(proof.cells.size()));
  std::size_t cell_depth = tree_depth(geometry.cells_per_block);
  std::size_t block_depth = tree_depth(geometry.blocks_in_slot);
  for (std::size_t i = 0; i < proof.cells.size(); ++i) {
    const CellProof& cell = proof.cells[i];
    std::string label = fmt::format("cell {} of the proof (block {} cell {})", i, cell.block_in_slot, cell.cell);
    if (cell.block_in_slot != asked[i].block_in_slot || cell.cell != asked[i].cell)
      return make_error(Errc::rejected, "{} is not the one the challenge asks for, block {} cell {}", label,
                        asked[i].block_in_slot, asked[i].cell);
    if (cell.data.size() != geometry.cell_size)
      return make_error(Errc::rejected, "{} has {} bytes of data, the cell size is {}", label, cell.data.size(),
                        geometry.cell_size);
    if (cell.cell_path.size() != cell_depth)
      return make_error(Errc::rejected, "{} has a cell path of {} digests, a block of {} cells needs {}", label,
                        cell.cell_path.size(), geometry.cells_per_block, cell_depth);
    if (!verify_codex_proof(sha256(cell.data), cell.cell, geometry.cells_per_block, cell.cell_path, cell.block_root))
      return make_error(Errc::rejected, "{}: the cell path does not lead from the cell data to the block root", label);
    if (cell.block_path.size() != block_depth)
      return make_error(Errc::rejected, "{} has a block path of {} digests, a slot of {} blocks needs {}", label,
                        cell.block_path.size(), geometry.blocks_in_slot, block_depth);
    if (!verify_codex_proof(cell.block_root, cell.block_in_slot, geometry.blocks_in_slot, cell.block_path,
                            slot_digest))
      return make_error(Errc::rejected, "{}: the block path does not lead to slot {}'s root '{}' in the manifest",
                        label, proof.slot, slot_root.to_string());
  }
  return {};
}

Status check_storage_proof(const StorageProof& proof, const Manifest& manifest, const Cid& manifest_cid,
                           ByteView expected_challenge, std::uint32_t expected_slot, std::uint32_t samples) {
  ProofExpectations expect;
  expect.challenge = Bytes(expected_challenge.begin(), expected_challenge.end());
  expect.slot = expected_slot;
  expect.samples = samples;
  return check_storage_proof(proof, manifest, manifest_cid, expect);
}

}  // namespace codex
