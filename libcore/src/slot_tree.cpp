// Slot trees: cell roots of blocks, slot roots over them, the verify root over
// the slots, and the geometry a protected manifest implies. The encoder calls
// block_cell_root once per block of a dataset, so it avoids allocating: the
// leaves of a block's cell tree (32 for 64 KiB blocks of 2 KiB cells) live on
// the stack and the tree is folded in place.
#include "codex/storage_proof.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

#include "codex/layout.hpp"
#include "sha256_x16.hpp"

namespace codex {
namespace {

constexpr Digest kZeroDigest{};

// CodexTree's root (docs/codex-formats.md section 3), overwriting `layer`: entry i
// of the next layer depends on entries 2i and 2i+1 only, so it can replace
// entry i once they are read.
Digest fold_root(std::span<Digest> layer) {
  std::size_t count = layer.size();
  bool bottom = true;
  while (bottom || count > 1) {
    std::uint8_t key = bottom ? 1 : 0;
    std::size_t pairs = count / 2;
    sha256_pairs(layer.data(), pairs, key, layer.data());
    if (count % 2 == 1) layer[pairs] = sha256_pair(layer[count - 1], kZeroDigest, key + 2);
    count = pairs + count % 2;
    bottom = false;
  }
  return layer[0];
}

}  // namespace

Digest block_cell_root(ByteView block, std::size_t cell_size) {
  if (cell_size == 0 || cell_size > block.size()) cell_size = std::max<std::size_t>(block.size(), 1);
  std::size_t cells = std::max<std::size_t>((block.size() + cell_size - 1) / cell_size, 1);
  std::array<Digest, 64> on_stack;
  std::array<ByteView, 64> cells_on_stack;
  std::vector<Digest> on_heap;
  std::vector<ByteView> cells_on_heap;
  std::span<Digest> leaves;
  std::span<ByteView> pieces;
  if (cells <= on_stack.size()) {
    leaves = std::span<Digest>(on_stack.data(), cells);
    pieces = std::span<ByteView>(cells_on_stack.data(), cells);
  } else {
    on_heap.resize(cells);
    cells_on_heap.resize(cells);
    leaves = on_heap;
    pieces = cells_on_heap;
  }
  for (std::size_t i = 0; i < cells; ++i) {
    std::size_t offset = std::min(i * cell_size, block.size());
    pieces[i] = block.subspan(offset, std::min(cell_size, block.size() - offset));
  }
  sha256_each(pieces, leaves);  // the cells together (sixteen or two at a time)
  return fold_root(leaves);
}

void block_digests_and_cell_roots(std::span<const ByteView> blocks, std::size_t cell_size, std::span<Digest> digests,
                                  std::span<Digest> cell_roots) {
  if (digests.size() != blocks.size() || cell_roots.size() != blocks.size()) std::abort();  // a caller's bug
  constexpr std::size_t lanes = sha_x16::kLanes;
  std::vector<Digest> cells;  // of one run: cell c of lane j at j * per_block + c
  for (std::size_t i = 0; i < blocks.size();) {
    const std::size_t size = blocks[i].size();
    std::size_t run = 1;
    while (run < lanes && i + run < blocks.size() && blocks[i + run].size() == size) ++run;
    const bool together = sha_x16::available() && run >= sha_x16::kMinLanes && cell_size > 0 && cell_size % 64 == 0 &&
                          size > 0 && size % cell_size == 0;
    if (!together) {
      sha256_each(blocks.subspan(i, run), digests.subspan(i, run));
      for (std::size_t j = i; j < i + run; ++j) cell_roots[j] = block_cell_root(blocks[j], cell_size);
      i += run;
      continue;
    }
    // A short run fills its empty lanes with its first block, and drops their digests.
    const std::uint8_t* messages[lanes];
    for (std::size_t lane = 0; lane < lanes; ++lane) messages[lane] = blocks[i + (lane < run ? lane : 0)].data();
    const std::size_t per_block = size / cell_size;
    cells.resize(lanes * per_block);
    std::uint8_t whole[lanes][32];
    sha_x16::digest_with_cells(messages, size, cell_size, whole, reinterpret_cast<std::uint8_t(*)[32]>(cells.data()));
    for (std::size_t lane = 0; lane < run; ++lane) std::memcpy(digests[i + lane].data(), whole[lane], 32);
    if (per_block >= 2 && (per_block & (per_block - 1)) == 0) {
      // Every layer of every lane's cell tree pairs up evenly: the run's
      // trees fold together, a layer at a time (the nodes of lane j stay at
      // j * count), so that their nodes hash sixteen at a time too.
      std::uint8_t key = 1;
      for (std::size_t count = per_block; count > 1; count /= 2, key = 0)
        sha256_pairs(cells.data(), run * count / 2, key, cells.data());
      for (std::size_t lane = 0; lane < run; ++lane) cell_roots[i + lane] = cells[lane];
    } else {
      for (std::size_t lane = 0; lane < run; ++lane)
        cell_roots[i + lane] = fold_root(std::span<Digest>(cells.data() + lane * per_block, per_block));
    }
    i += run;
  }
}

Status check_cell_geometry(std::uint64_t block_size, std::uint32_t cell_size) {
  if (cell_size == 0 || cell_size > kMaxCellSize)
    return make_error(Errc::corrupt, "cell size {} is out of range: it must be from 1 to {}", cell_size,
                      kMaxCellSize);
  if (block_size == 0 || block_size % cell_size != 0)
    return make_error(Errc::corrupt, "block size {} is not a multiple of cell size {}", block_size, cell_size);
  if (block_size / cell_size > kMaxCellsPerBlock)
    return make_error(Errc::corrupt, "block size {} holds {} cells of {} bytes, more than the {} allowed",
                      block_size, block_size / cell_size, cell_size, kMaxCellsPerBlock);
  return {};
}

Result<Cid> slot_root_cid(std::span<const Digest> block_cell_roots) {
  if (block_cell_roots.empty()) return make_error(Errc::corrupt, "a slot needs at least one block");
  CODEX_TRY_ASSIGN(Digest root, codex_tree_root(block_cell_roots));
  return Cid::from_digest(codec::slot_root, root);
}

Result<Cid> proving_root_cid(std::span<const Cid> slot_roots) {
  if (slot_roots.empty()) return make_error(Errc::corrupt, "a verify root needs at least one slot root");
  std::vector<Digest> leaves;
  leaves.reserve(slot_roots.size());
  for (std::size_t i = 0; i < slot_roots.size(); ++i) {
    auto digest = slot_roots[i].sha256_digest();
    if (slot_roots[i].codec() != codec::slot_root || !digest)
      return make_error(Errc::corrupt, "slot root {} ('{}') is not a sha2-256 codex-slot-root CID", i,
                        slot_roots[i].valid() ? slot_roots[i].to_string() : std::string("empty"));
    leaves.push_back(*digest);
  }
  return Cid::from_digest(codec::proving_root, fold_root(leaves));
}

Result<SlotGeometry> slot_geometry(const Manifest& manifest) {
  if (!manifest.erasure) return make_error(Errc::usage, "the manifest is not protected: it has no slots");
  const ErasureInfo& erasure = *manifest.erasure;
  if (erasure.strategy != 1)
    return make_error(Errc::corrupt, "the manifest's layout strategy {} is not 1 (stepped), the only one with slots",
                      erasure.strategy);
  CODEX_TRY(check_cell_geometry(manifest.block_size, erasure.cell_size));

  SlotGeometry geometry;
  geometry.block_size = manifest.block_size;
  geometry.cell_size = erasure.cell_size;
  geometry.cells_per_block = static_cast<std::uint32_t>(manifest.block_size / erasure.cell_size);
  geometry.data_blocks = std::max<std::uint64_t>(
      erasure.original_dataset_size / manifest.block_size + (erasure.original_dataset_size % manifest.block_size != 0),
      1);
  auto layout = SteppedLayout::make(geometry.data_blocks, erasure.k, erasure.m);
  if (!layout) return make_error(Errc::corrupt, "the manifest's erasure parameters are unusable: {}", layout.error().message);
  geometry.slots = layout->slots();
  geometry.blocks_in_slot = layout->steps;
  geometry.rounded = layout->rounded;
  if (manifest.block_count() != layout->total)
    return make_error(Errc::corrupt,
                      "the manifest has {} blocks, but {} data blocks with K = {} and M = {} make {}",
                      manifest.block_count(), geometry.data_blocks, erasure.k, erasure.m, layout->total);
  if (erasure.slot_roots.size() != geometry.slots)
    return make_error(Errc::corrupt, "the manifest has {} slot roots for K + M = {} slots", erasure.slot_roots.size(),
                      geometry.slots);
  return geometry;
}

}  // namespace codex
