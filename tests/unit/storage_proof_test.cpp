// Slot trees, challenges and storage proofs over a small protected layout
// built by hand (random blocks; parity is random too, since only the slot
// trees matter here), plus the wire forms and the strict JSON reader.
#include "codex/storage_proof.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <random>

#include "codex/layout.hpp"
#include "codex/varint.hpp"
#include "json_parse.hpp"

namespace codex {
namespace {

using ::testing::HasSubstr;

Bytes random_bytes(std::mt19937_64& rng, std::size_t size) {
  Bytes out(size);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

Bytes challenge_of(std::uint64_t n) {
  Digest d = sha256(as_bytes(fmt::format("challenge {}", n)));
  return Bytes(d.begin(), d.end());
}

// A protected dataset of `data_blocks` blocks with K = 3, M = 2 unless told.
struct Dataset {
  SteppedLayout layout;
  std::uint64_t block_size = 0;
  std::uint32_t cell_size = 0;
  std::vector<Bytes> blocks;  // every index of the layout; padding is zeros
  std::vector<Digest> cell_roots;
  Manifest manifest;
  Cid manifest_cid;

  std::vector<Digest> slot_block_roots(std::uint32_t slot) const {
    return {cell_roots.begin() + layout.slot_begin(slot), cell_roots.begin() + layout.slot_end(slot)};
  }
  // Refuses padding blocks, as a store that never holds them would.
  SlotBlockReader reader(std::uint32_t slot) const {
    return [this, slot](std::uint64_t block_in_slot) -> Result<Bytes> {
      std::uint64_t index = layout.slot_begin(slot) + block_in_slot;
      if (layout.is_padding(index)) return make_error(Errc::not_found, "padding block {} is not stored", index);
      return blocks.at(index);
    };
  }
  Result<StorageProof> prove(std::uint32_t slot, ByteView challenge, std::uint32_t samples = 4) const {
    return make_storage_proof(manifest, manifest_cid, slot, challenge, slot_block_roots(slot), reader(slot), samples);
  }
};

Dataset make_dataset(std::uint64_t seed, std::uint64_t block_size = 4096, std::uint32_t cell_size = 512,
                     std::uint64_t data_blocks = 7, std::uint32_t k = 3, std::uint32_t m = 2) {
  std::mt19937_64 rng(seed);
  Dataset d;
  d.layout = *SteppedLayout::make(data_blocks, k, m);
  d.block_size = block_size;
  d.cell_size = cell_size;
  for (std::uint64_t i = 0; i < d.layout.total; ++i) {
    d.blocks.push_back(d.layout.is_padding(i) ? Bytes(block_size, 0) : random_bytes(rng, block_size));
    d.cell_roots.push_back(block_cell_root(d.blocks.back(), cell_size));
  }
  ErasureInfo erasure;
  erasure.k = k;
  erasure.m = m;
  erasure.original_tree = Cid::from_digest(codec::root, sha256(as_bytes(fmt::format("tree {}", seed))));
  erasure.original_dataset_size = data_blocks * block_size - 100;
  erasure.backend = "isa_l_rs_vand";
  erasure.cell_size = cell_size;
  for (std::uint32_t s = 0; s < d.layout.slots(); ++s)
    erasure.slot_roots.push_back(*slot_root_cid(d.slot_block_roots(s)));
  erasure.verify_root = *proving_root_cid(erasure.slot_roots);
  d.manifest.tree = Cid::from_digest(codec::root, sha256(as_bytes(fmt::format("encoded tree {}", seed))));
  d.manifest.block_size = block_size;
  d.manifest.dataset_size = d.layout.total * block_size;
  d.manifest.erasure = erasure;
  d.manifest.format = ManifestFormat::protected_v1;
  d.manifest_cid = Cid::from_digest(codec::manifest, sha256(as_bytes(fmt::format("manifest {}", seed))));
  return d;
}

std::vector<Digest> cell_leaves(ByteView block, std::size_t cell_size) {
  std::vector<Digest> leaves;
  for (std::size_t off = 0; off < block.size(); off += cell_size) leaves.push_back(sha256(block.subspan(off, cell_size)));
  return leaves;
}

// ---------------------------------------------------------------------------
// Slot trees

TEST(SlotTree, BlockCellRootIsTheCodexTreeOverCellDigests) {
  std::mt19937_64 rng(1);
  struct Geometry {
    std::size_t block, cell;
  };
  // 8 cells, 32 (the default), 2 and 1 cell, an odd count, and more cells than fit on the stack.
  for (auto [block_size, cell_size] : {Geometry{4096, 512}, Geometry{65536, 2048}, Geometry{4096, 2048},
                                       Geometry{2048, 2048}, Geometry{2560, 512}, Geometry{65536, 512}}) {
    Bytes block = random_bytes(rng, block_size);
    auto expected = codex_tree_root(cell_leaves(block, cell_size));
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(block_cell_root(block, cell_size), *expected) << block_size << "/" << cell_size;
  }
  // A padding block is zeros, and its cell root is not the empty block's digest.
  Bytes zeros(4096, 0);
  EXPECT_EQ(block_cell_root(zeros, 512), *codex_tree_root(cell_leaves(zeros, 512)));
  EXPECT_NE(block_cell_root(zeros, 512), sha256(ByteView{}));
}

TEST(SlotTree, BlockCellRootIsDefinedOutsideTheGeometry) {
  Bytes block(1000, 7);
  // A short last cell is hashed as it is; a zero cell size means one cell.
  std::vector<Digest> leaves = {sha256(ByteView(block).first(512)), sha256(ByteView(block).subspan(512))};
  EXPECT_EQ(block_cell_root(block, 512), *codex_tree_root(leaves));
  std::vector<Digest> one = {sha256(block)};
  EXPECT_EQ(block_cell_root(block, 0), *codex_tree_root(one));
  EXPECT_EQ(block_cell_root(block, 4096), *codex_tree_root(one));
}

TEST(SlotTree, SlotAndProvingRootCids) {
  Dataset d = make_dataset(2);
  auto roots = d.slot_block_roots(1);
  auto slot = slot_root_cid(roots);
  ASSERT_TRUE(slot.ok()) << slot.error().message;
  EXPECT_EQ(slot->codec(), codec::slot_root);
  EXPECT_EQ(slot->hash_code(), multihash_code::sha2_256);
  EXPECT_EQ(*slot->sha256_digest(), *codex_tree_root(roots));

  const auto& slot_roots = d.manifest.erasure->slot_roots;
  auto proving = proving_root_cid(slot_roots);
  ASSERT_TRUE(proving.ok());
  EXPECT_EQ(proving->codec(), codec::proving_root);
  std::vector<Digest> digests;
  for (const Cid& cid : slot_roots) digests.push_back(*cid.sha256_digest());
  EXPECT_EQ(*proving->sha256_digest(), *codex_tree_root(digests));

  EXPECT_EQ(slot_root_cid({}).error().code, Errc::corrupt);
  EXPECT_EQ(proving_root_cid({}).error().code, Errc::corrupt);
  std::vector<Cid> wrong = slot_roots;
  wrong[3] = Cid::from_digest(codec::block, digests[3]);
  auto refused = proving_root_cid(wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::corrupt);
  EXPECT_THAT(refused.error().message, HasSubstr("slot root 3"));
}

TEST(SlotTree, CellGeometry) {
  EXPECT_TRUE(check_cell_geometry(65536, 2048).ok());
  EXPECT_TRUE(check_cell_geometry(2048, 2048).ok());
  EXPECT_EQ(check_cell_geometry(65536, 0).error().code, Errc::corrupt);
  EXPECT_EQ(check_cell_geometry(65536, 3000).error().code, Errc::corrupt);
  EXPECT_EQ(check_cell_geometry(1024, 2048).error().code, Errc::corrupt);
  EXPECT_EQ(check_cell_geometry(0, 2048).error().code, Errc::corrupt);
  EXPECT_EQ(check_cell_geometry(std::uint64_t{1} << 40, 1).error().code, Errc::corrupt);
  EXPECT_EQ(check_cell_geometry(std::uint64_t{4} << 20, 2u << 20).error().code, Errc::corrupt);
}

TEST(SlotTree, GeometryOfAManifest) {
  Dataset d = make_dataset(3);  // 7 data blocks, K=3, M=2: rounded 9, steps 3, total 15
  auto g = slot_geometry(d.manifest);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->slots, 5u);
  EXPECT_EQ(g->blocks_in_slot, 3u);
  EXPECT_EQ(g->cells_per_block, 8u);
  EXPECT_EQ(g->data_blocks, 7u);
  EXPECT_EQ(g->rounded, 9u);
  EXPECT_FALSE(g->is_padding(2, 0));  // index 6
  EXPECT_TRUE(g->is_padding(2, 1));   // index 7
  EXPECT_TRUE(g->is_padding(2, 2));   // index 8
  EXPECT_FALSE(g->is_padding(3, 0));  // index 9: parity

  Manifest plain = d.manifest;
  plain.erasure.reset();
  EXPECT_EQ(slot_geometry(plain).error().code, Errc::usage);
  Manifest short_roots = d.manifest;
  short_roots.erasure->slot_roots.pop_back();
  EXPECT_EQ(slot_geometry(short_roots).error().code, Errc::corrupt);
  Manifest wrong_size = d.manifest;
  wrong_size.dataset_size += d.block_size;
  EXPECT_EQ(slot_geometry(wrong_size).error().code, Errc::corrupt);
  Manifest wrong_original = d.manifest;
  wrong_original.erasure->original_dataset_size = 10 * d.block_size;  // 10 blocks: steps 4
  EXPECT_EQ(slot_geometry(wrong_original).error().code, Errc::corrupt);
  Manifest bad_cells = d.manifest;
  bad_cells.erasure->cell_size = 1000;
  EXPECT_EQ(slot_geometry(bad_cells).error().code, Errc::corrupt);
  Manifest linear = d.manifest;
  linear.erasure->strategy = 0;
  EXPECT_EQ(slot_geometry(linear).error().code, Errc::corrupt);
}

// ---------------------------------------------------------------------------
// Challenges

TEST(StorageProofChallenge, FollowsTheDocumentedFormula) {
  Bytes challenge = challenge_of(1);
  Cid root = Cid::from_digest(codec::slot_root, sha256(as_bytes("slot")));
  const std::uint64_t blocks = 4096;
  const std::uint32_t cells = 32;
  auto picked = challenged_cells(challenge, root, blocks, cells, 8);
  ASSERT_EQ(picked.size(), 8u);
  for (std::uint32_t j = 0; j < 8; ++j) {
    constexpr std::string_view tag = "codex-tools/storage-proof/v1";
    Bytes input(tag.begin(), tag.end());
    input.insert(input.end(), challenge.begin(), challenge.end());
    input.insert(input.end(), root.bytes().begin(), root.bytes().end());
    for (int shift = 24; shift >= 0; shift -= 8) input.push_back(static_cast<std::uint8_t>(j >> shift));
    Digest n = sha256(input);
    // blocks * cells = 2^17 divides 2^256, so n mod 2^17 is the low 17 bits.
    std::uint64_t flat = (std::uint64_t{n[29]} << 16 | std::uint64_t{n[30]} << 8 | n[31]) & ((1u << 17) - 1);
    EXPECT_EQ(picked[j].block_in_slot, flat / cells) << j;
    EXPECT_EQ(picked[j].cell, flat % cells) << j;
  }
}

TEST(StorageProofChallenge, DeterministicInRangeAndBoundToTheSlot) {
  Bytes challenge = challenge_of(2);
  Cid a = Cid::from_digest(codec::slot_root, sha256(as_bytes("a")));
  Cid b = Cid::from_digest(codec::slot_root, sha256(as_bytes("b")));
  auto first = challenged_cells(challenge, a, 100, 7, 64);
  EXPECT_EQ(first, challenged_cells(challenge, a, 100, 7, 64));
  for (const CellIndex& c : first) {
    EXPECT_LT(c.block_in_slot, 100u);
    EXPECT_LT(c.cell, 7u);
  }
  EXPECT_NE(first, challenged_cells(challenge, b, 100, 7, 64));
  EXPECT_NE(first, challenged_cells(challenge_of(3), a, 100, 7, 64));
  // A prefix of a longer draw: sample j does not depend on the count.
  auto four = challenged_cells(challenge, a, 100, 7, 4);
  EXPECT_TRUE(std::equal(four.begin(), four.end(), first.begin()));
  EXPECT_TRUE(challenged_cells(challenge, a, 0, 7, 4).empty());
  EXPECT_TRUE(challenged_cells(challenge, a, 100, 0, 4).empty());
}

TEST(StorageProofChallenge, RoughlyUniform) {
  Cid root = Cid::from_digest(codec::slot_root, sha256(as_bytes("uniform")));
  std::vector<int> hits(10, 0);
  for (const CellIndex& c : challenged_cells(challenge_of(4), root, 5, 2, 10000)) ++hits[c.block_in_slot * 2 + c.cell];
  for (int h : hits) {
    EXPECT_GT(h, 850);
    EXPECT_LT(h, 1150);
  }
}

// ---------------------------------------------------------------------------
// Making and checking

TEST(StorageProof, EverySlotProvesAndChecks) {
  for (auto [block_size, cell_size] : {std::pair<std::uint64_t, std::uint32_t>{4096, 512}, {4096, 2048}}) {
    Dataset d = make_dataset(5, block_size, cell_size);
    for (std::uint32_t slot = 0; slot < d.layout.slots(); ++slot) {
      for (std::uint64_t c = 0; c < 3; ++c) {
        for (std::uint32_t samples : {1u, 4u, 9u}) {
          Bytes challenge = challenge_of(c);
          auto proof = d.prove(slot, challenge, samples);
          ASSERT_TRUE(proof.ok()) << proof.error().message;
          EXPECT_EQ(proof->cells.size(), samples);
          auto checked = check_storage_proof(*proof, d.manifest, d.manifest_cid, challenge, slot, samples);
          EXPECT_TRUE(checked.ok()) << checked.error().message;
          ProofExpectations own;  // the proof's own challenge, slot and count
          own.samples.reset();
          EXPECT_TRUE(check_storage_proof(*proof, d.manifest, d.manifest_cid, own).ok());
        }
      }
    }
  }
}

TEST(StorageProof, CellDataIsTheBlocksBytes) {
  Dataset d = make_dataset(6);
  auto proof = d.prove(1, challenge_of(1), 16);
  ASSERT_TRUE(proof.ok());
  for (const CellProof& cell : proof->cells) {
    const Bytes& block = d.blocks[d.layout.slot_begin(1) + cell.block_in_slot];
    EXPECT_TRUE(std::equal(cell.data.begin(), cell.data.end(), block.begin() + cell.cell * d.cell_size));
    EXPECT_EQ(cell.block_root, d.cell_roots[d.layout.slot_begin(1) + cell.block_in_slot]);
  }
}

TEST(StorageProof, PaddingBlocksAreZerosAndNeverRead) {
  Dataset d = make_dataset(7);  // slot 2 = indices 6 (data), 7 and 8 (padding)
  auto proof = d.prove(2, challenge_of(9), 64);  // 2/3 of the draws land in padding
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  int padding = 0;
  for (const CellProof& cell : proof->cells) {
    if (cell.block_in_slot == 0) continue;
    ++padding;
    EXPECT_EQ(cell.data, Bytes(d.cell_size, 0));
  }
  EXPECT_GT(padding, 0);
  EXPECT_TRUE(check_storage_proof(*proof, d.manifest, d.manifest_cid, challenge_of(9), 2, 64).ok());
}

TEST(StorageProof, CachedSlotTreeGivesTheSameProof) {
  Dataset d = make_dataset(8);
  auto tree = CodexTree::build(d.slot_block_roots(4));
  ASSERT_TRUE(tree.ok());
  auto cached = make_storage_proof(d.manifest, d.manifest_cid, 4, challenge_of(1), *tree, d.reader(4));
  ASSERT_TRUE(cached.ok()) << cached.error().message;
  EXPECT_EQ(*cached, *d.prove(4, challenge_of(1)));
}

TEST(StorageProof, DamagedHolderCannotProve) {
  Dataset d = make_dataset(9);
  // A damaged stored block: every block of slot 0 has a flipped bit, so any draw finds one.
  Dataset damaged = d;
  for (std::uint64_t i = damaged.layout.slot_begin(0); i < damaged.layout.slot_end(0); ++i) damaged.blocks[i][100] ^= 1;
  auto proof = damaged.prove(0, challenge_of(1));
  ASSERT_FALSE(proof.ok());
  EXPECT_EQ(proof.error().code, Errc::corrupt);
  EXPECT_THAT(proof.error().message, HasSubstr("does not match its cell root"));

  // Damaged block roots: they no longer give the manifest's slot root.
  auto roots = d.slot_block_roots(0);
  roots[1][0] ^= 1;
  auto wrong_roots = make_storage_proof(d.manifest, d.manifest_cid, 0, challenge_of(1), roots, d.reader(0));
  ASSERT_FALSE(wrong_roots.ok());
  EXPECT_EQ(wrong_roots.error().code, Errc::corrupt);
  EXPECT_THAT(wrong_roots.error().message, HasSubstr("slot root"));

  // A block of the wrong size.
  SlotBlockReader short_reader = [](std::uint64_t) -> Result<Bytes> { return Bytes(100, 0); };
  auto short_block = make_storage_proof(d.manifest, d.manifest_cid, 0, challenge_of(1), d.slot_block_roots(0),
                                        short_reader);
  ASSERT_FALSE(short_block.ok());
  EXPECT_EQ(short_block.error().code, Errc::corrupt);

  // The reader's own error comes through unchanged.
  SlotBlockReader failing = [](std::uint64_t) -> Result<Bytes> { return make_error(Errc::io, "disk on fire"); };
  auto io = make_storage_proof(d.manifest, d.manifest_cid, 0, challenge_of(1), d.slot_block_roots(0), failing);
  ASSERT_FALSE(io.ok());
  EXPECT_EQ(io.error().code, Errc::io);
}

TEST(StorageProof, UsageErrors) {
  Dataset d = make_dataset(10);
  Bytes challenge = challenge_of(1);
  auto roots = d.slot_block_roots(0);
  auto code = [&](auto&& result) { return result.ok() ? Errc::ok : result.error().code; };
  EXPECT_EQ(code(make_storage_proof(d.manifest, d.manifest_cid, 5, challenge, roots, d.reader(0))), Errc::usage);
  EXPECT_EQ(code(make_storage_proof(d.manifest, d.manifest_cid, 0, ByteView(challenge).first(31), roots,
                                    d.reader(0))),
            Errc::usage);
  EXPECT_EQ(code(make_storage_proof(d.manifest, d.manifest_cid, 0, challenge, roots, d.reader(0), 0)), Errc::usage);
  EXPECT_EQ(code(make_storage_proof(d.manifest, d.manifest_cid, 0, challenge, roots, d.reader(0), 257)),
            Errc::usage);
  EXPECT_EQ(code(make_storage_proof(d.manifest, d.manifest_cid, 0, challenge, std::span(roots).first(2),
                                    d.reader(0))),
            Errc::usage);
  Manifest plain = d.manifest;
  plain.erasure.reset();
  EXPECT_EQ(code(make_storage_proof(plain, d.manifest_cid, 0, challenge, roots, d.reader(0))), Errc::usage);

  auto proof = d.prove(0, challenge);
  ASSERT_TRUE(proof.ok());
  EXPECT_EQ(check_storage_proof(*proof, d.manifest, d.manifest_cid, ByteView(challenge).first(16), 0).error().code,
            Errc::usage);
  EXPECT_EQ(check_storage_proof(*proof, d.manifest, d.manifest_cid, challenge, 0, 0).error().code, Errc::usage);
}

// Each tampering, by name, and the words its rejection must contain.
struct Tamper {
  std::string name;
  std::function<void(StorageProof&)> change;
  std::string reason;
};

std::vector<Tamper> tamperings(const StorageProof& proof) {
  std::vector<Tamper> out;
  out.push_back({"slot", [](StorageProof& p) { p.slot = 1; }, "slot"});
  out.push_back({"slot past the last", [](StorageProof& p) { p.slot = 99; }, "slot"});
  out.push_back({"challenge", [](StorageProof& p) { p.challenge[0] ^= 1; }, "challenge"});
  out.push_back({"short challenge", [](StorageProof& p) { p.challenge.pop_back(); }, "challenge"});
  out.push_back({"manifest",
                 [](StorageProof& p) { p.manifest = Cid::from_digest(codec::manifest, sha256(as_bytes("other"))); },
                 "manifest"});
  out.push_back({"missing cell", [](StorageProof& p) { p.cells.pop_back(); }, "cells"});
  out.push_back({"extra cell", [](StorageProof& p) { p.cells.push_back(p.cells.front()); }, "cells"});
  out.push_back({"no cells", [](StorageProof& p) { p.cells.clear(); }, "cells"});
  out.push_back({"block index", [](StorageProof& p) { p.cells[0].block_in_slot ^= 1; }, "challenge asks"});
  out.push_back({"cell index", [](StorageProof& p) { p.cells[0].cell ^= 1; }, "challenge asks"});
  if (proof.cells[0].block_in_slot != proof.cells[1].block_in_slot || proof.cells[0].cell != proof.cells[1].cell) {
    out.push_back({"swapped cells", [](StorageProof& p) { std::swap(p.cells[0], p.cells[1]); }, "challenge asks"});
    out.push_back({"swapped cell data", [](StorageProof& p) { std::swap(p.cells[0].data, p.cells[1].data); },
                   "cell path"});
  }
  out.push_back({"short data", [](StorageProof& p) { p.cells[2].data.pop_back(); }, "bytes of data"});
  out.push_back({"long data", [](StorageProof& p) { p.cells[2].data.push_back(0); }, "bytes of data"});
  out.push_back({"short cell path", [](StorageProof& p) { p.cells[3].cell_path.pop_back(); }, "cell path"});
  out.push_back({"long cell path", [](StorageProof& p) { p.cells[3].cell_path.push_back({}); }, "cell path"});
  out.push_back({"short block path", [](StorageProof& p) { p.cells[3].block_path.pop_back(); }, "block path"});
  out.push_back({"long block path", [](StorageProof& p) { p.cells[3].block_path.push_back({}); }, "block path"});
  for (std::size_t c = 0; c < proof.cells.size(); ++c) {
    for (std::size_t bit : {0, 777, 4095}) {
      if (bit / 8 >= proof.cells[c].data.size()) continue;
      out.push_back({fmt::format("cell {} data bit {}", c, bit),
                     [c, bit](StorageProof& p) { p.cells[c].data[bit / 8] ^= 1 << (bit % 8); }, "cell path"});
    }
    for (std::size_t i = 0; i < proof.cells[c].cell_path.size(); ++i)
      out.push_back({fmt::format("cell {} cell path {}", c, i),
                     [c, i](StorageProof& p) { p.cells[c].cell_path[i][31] ^= 0x80; }, "cell path"});
    for (std::size_t i = 0; i < proof.cells[c].block_path.size(); ++i)
      out.push_back({fmt::format("cell {} block path {}", c, i),
                     [c, i](StorageProof& p) { p.cells[c].block_path[i][5] ^= 2; }, "block path"});
    // A changed block root breaks the cell path's end, even before the block path.
    out.push_back({fmt::format("cell {} block root", c), [c](StorageProof& p) { p.cells[c].block_root[0] ^= 1; },
                   "path"});
  }
  return out;
}

TEST(StorageProof, EveryTamperingIsRejected) {
  // A slot of 4 blocks (10 data blocks, K = 3: steps 4) so block paths have 2 digests.
  Dataset d = make_dataset(11, 4096, 512, 10, 3, 2);
  Bytes challenge = challenge_of(7);
  auto made = d.prove(0, challenge);
  ASSERT_TRUE(made.ok()) << made.error().message;
  ASSERT_EQ(made->cells[0].block_path.size(), 2u);
  ASSERT_EQ(made->cells[0].cell_path.size(), 3u);
  ASSERT_TRUE(check_storage_proof(*made, d.manifest, d.manifest_cid, challenge, 0).ok());

  ProofExpectations own;
  own.samples.reset();
  for (const Tamper& t : tamperings(*made)) {
    StorageProof proof = *made;
    t.change(proof);
    auto posed = check_storage_proof(proof, d.manifest, d.manifest_cid, challenge, 0);
    ASSERT_FALSE(posed.ok()) << t.name;
    EXPECT_EQ(posed.error().code, Errc::rejected) << t.name;
    EXPECT_THAT(posed.error().message, HasSubstr(t.reason)) << t.name;
    // With no challenge, slot or count posed, the proof must still hang together.
    auto self = check_storage_proof(proof, d.manifest, d.manifest_cid, own);
    if (t.name == "missing cell") {
      // Draws do not depend on their count, so dropping the last cell leaves a
      // valid, weaker proof: a checker that leaves the count open accepts it.
      EXPECT_TRUE(self.ok()) << self.error().message;
      continue;
    }
    ASSERT_FALSE(self.ok()) << t.name;
    EXPECT_EQ(self.error().code, Errc::rejected) << t.name;
  }
}

TEST(StorageProof, NoReplayAcrossSlotsOrDatasets) {
  Dataset a = make_dataset(12);
  Dataset b = make_dataset(13);
  Bytes challenge = challenge_of(1);
  auto proof = a.prove(3, challenge);
  ASSERT_TRUE(proof.ok());
  // The same proof claimed for another slot of the same dataset.
  for (std::uint32_t slot = 0; slot < a.layout.slots(); ++slot) {
    if (slot == 3) continue;
    StorageProof moved = *proof;
    moved.slot = slot;
    EXPECT_EQ(check_storage_proof(moved, a.manifest, a.manifest_cid, challenge, slot).error().code, Errc::rejected);
  }
  // Checked against another dataset, as is or relabelled.
  EXPECT_EQ(check_storage_proof(*proof, b.manifest, b.manifest_cid, challenge, 3).error().code, Errc::rejected);
  StorageProof relabelled = *proof;
  relabelled.manifest = b.manifest_cid;
  auto status = check_storage_proof(relabelled, b.manifest, b.manifest_cid, challenge, 3);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, Errc::rejected);
  // A plain manifest has nothing to prove.
  Manifest plain = a.manifest;
  plain.erasure.reset();
  EXPECT_EQ(check_storage_proof(*proof, plain, a.manifest_cid, challenge, 3).error().code, Errc::rejected);
}

TEST(StorageProof, RejectionsNameWhatIsWrong) {
  Dataset d = make_dataset(14);
  Bytes challenge = challenge_of(1);
  auto proof = d.prove(1, challenge);
  ASSERT_TRUE(proof.ok());
  auto wrong_slot = check_storage_proof(*proof, d.manifest, d.manifest_cid, challenge, 2);
  EXPECT_EQ(wrong_slot.error().message, "proof is for slot 1, not slot 2");
  auto wrong_count = check_storage_proof(*proof, d.manifest, d.manifest_cid, challenge, 1, 5);
  EXPECT_EQ(wrong_count.error().message, "proof has 4 cells, 5 were asked for");
  StorageProof bad = *proof;
  bad.cells[1].data[0] ^= 1;
  auto bad_data = check_storage_proof(bad, d.manifest, d.manifest_cid, challenge, 1);
  EXPECT_THAT(bad_data.error().message,
              HasSubstr(fmt::format("cell 1 of the proof (block {} cell {})", bad.cells[1].block_in_slot,
                                    bad.cells[1].cell)));
}

// ---------------------------------------------------------------------------
// Wire forms

TEST(StorageProofWire, JsonRoundTrip) {
  Dataset d = make_dataset(15);
  auto proof = d.prove(2, challenge_of(3));
  ASSERT_TRUE(proof.ok());
  std::string text = proof_to_json(*proof);
  auto back = proof_from_json(text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, *proof);

  auto doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["manifest"], d.manifest_cid.to_string());
  EXPECT_EQ(doc["slot"], 2);
  EXPECT_EQ(doc["challenge"], to_hex(challenge_of(3)));
  ASSERT_EQ(doc["cells"].size(), 4u);
  EXPECT_EQ(doc["cells"][0]["block"], proof->cells[0].block_in_slot);
  EXPECT_EQ(doc["cells"][0]["data"], to_hex(proof->cells[0].data));
  EXPECT_EQ(doc["cells"][0]["cellPath"].size(), 3u);
  EXPECT_EQ(doc["cells"][0]["blockRoot"], to_hex(proof->cells[0].block_root));
  EXPECT_EQ(text.back(), '}');

  StorageProof empty = *proof;
  empty.cells.clear();
  auto empty_back = proof_from_json(proof_to_json(empty));
  ASSERT_TRUE(empty_back.ok()) << empty_back.error().message;
  EXPECT_EQ(*empty_back, empty);
}

TEST(StorageProofWire, BinaryRoundTrip) {
  Dataset d = make_dataset(16, 4096, 2048);
  auto proof = d.prove(4, challenge_of(5), 6);
  ASSERT_TRUE(proof.ok());
  Bytes wire = encode_storage_proof(*proof);
  auto back = decode_storage_proof(wire);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, *proof);
  // 6 cells of 2 KiB plus 3 digests each dominate.
  EXPECT_LT(wire.size(), 6 * (2048 + 4 * 32 + 16) + 64u);
}

TEST(StorageProofWire, BinaryIsStrict) {
  Dataset d = make_dataset(17);
  auto proof = d.prove(0, challenge_of(1), 2);
  ASSERT_TRUE(proof.ok());
  Bytes wire = encode_storage_proof(*proof);
  for (std::size_t size = 0; size < wire.size(); ++size) {
    auto cut = decode_storage_proof(ByteView(wire).first(size));
    ASSERT_FALSE(cut.ok()) << "prefix of " << size << " bytes";
    EXPECT_EQ(cut.error().code, Errc::corrupt);
  }
  Bytes trailing = wire;
  trailing.push_back(0);
  auto t = decode_storage_proof(trailing);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().message, HasSubstr("trailing"));

  Bytes version = wire;
  version[0] = 2;
  EXPECT_THAT(decode_storage_proof(version).error().message, HasSubstr("version 2"));
  // A huge declared cell count or data length is refused, not allocated.
  Bytes huge = {1};
  put_varint(huge, proof->manifest.bytes().size());
  huge.insert(huge.end(), proof->manifest.bytes().begin(), proof->manifest.bytes().end());
  put_varint(huge, 0);
  put_varint(huge, 32);
  huge.insert(huge.end(), 32, 0);
  Bytes many = huge;
  put_varint(many, 1000000);
  EXPECT_THAT(decode_storage_proof(many).error().message, HasSubstr("at most 256"));
  Bytes long_data = huge;
  put_varint(long_data, 1);
  put_varint(long_data, 0);
  put_varint(long_data, 0);
  put_varint(long_data, 1u << 19);
  EXPECT_THAT(decode_storage_proof(long_data).error().message, HasSubstr("truncated"));
  // A 31-byte challenge.
  Bytes short_challenge = {1};
  put_varint(short_challenge, proof->manifest.bytes().size());
  short_challenge.insert(short_challenge.end(), proof->manifest.bytes().begin(), proof->manifest.bytes().end());
  put_varint(short_challenge, 0);
  put_varint(short_challenge, 31);
  short_challenge.insert(short_challenge.end(), 31, 0);
  put_varint(short_challenge, 0);
  EXPECT_THAT(decode_storage_proof(short_challenge).error().message, HasSubstr("challenge"));
}

TEST(StorageProofWire, JsonTruncationsAreRejected) {
  Dataset d = make_dataset(18, 2048, 512, 4, 2, 1);
  auto proof = d.prove(0, challenge_of(1), 2);
  ASSERT_TRUE(proof.ok());
  std::string text = proof_to_json(*proof);
  for (std::size_t size = 0; size < text.size(); ++size) {
    auto cut = proof_from_json(std::string_view(text).substr(0, size));
    ASSERT_FALSE(cut.ok()) << "prefix of " << size << " characters";
    EXPECT_EQ(cut.error().code, Errc::corrupt);
  }
}

TEST(StorageProofWire, JsonIsStrict) {
  Dataset d = make_dataset(19);
  auto proof = d.prove(0, challenge_of(1), 1);
  ASSERT_TRUE(proof.ok());
  auto doc = nlohmann::json::parse(proof_to_json(*proof));
  auto rejects = [](const nlohmann::json& j, std::string_view words) {
    auto result = proof_from_json(j.dump());
    ASSERT_FALSE(result.ok()) << j.dump();
    EXPECT_EQ(result.error().code, Errc::corrupt);
    EXPECT_THAT(result.error().message, HasSubstr(std::string(words))) << j.dump();
  };
  auto with = [&](auto edit) {
    nlohmann::json copy = doc;
    edit(copy);
    return copy;
  };
  rejects(with([](auto& j) { j["extra"] = 1; }), "unknown field 'extra'");
  rejects(with([](auto& j) { j.erase("slot"); }), "lacks the field 'slot'");
  rejects(with([](auto& j) { j["version"] = 2; }), "version 2");
  rejects(with([](auto& j) { j["slot"] = -1; }), "'slot' must be an integer from 0");
  rejects(with([](auto& j) { j["slot"] = 4294967296ull; }), "'slot' must be an integer from 0");
  rejects(with([](auto& j) { j["slot"] = "0"; }), "'slot' must be an integer, not a string");
  rejects(with([](auto& j) { j["manifest"] = "zNotACid"; }), "'manifest' is not a CID");
  rejects(with([](auto& j) { j["challenge"] = "00"; }), "'challenge' must be 64 hex digits");
  rejects(with([](auto& j) { j["challenge"] = std::string(64, 'g'); }), "'challenge' is not hex");
  rejects(with([](auto& j) { j["cells"] = nlohmann::json::object(); }), "'cells' must be an array");
  rejects(with([](auto& j) { j["cells"][0]["cellPath"][1] = "abcd"; }), "'cells[0].cellPath[1]' must be 64 hex");
  rejects(with([](auto& j) { j["cells"][0]["blockRoot"] = nullptr; }), "'cells[0].blockRoot' must be a hex string");
  rejects(with([](auto& j) { j["cells"][0].erase("data"); }), "'cells[0]' lacks the field 'data'");
  rejects(with([](auto& j) { j["cells"][0]["data"] = "abc"; }), "'cells[0].data' is not hex");
  rejects(with([](auto& j) { j["cells"][0]["cell"] = 1.5; }), "integers");
  rejects(with([](auto& j) { j["cells"][0] = 3; }), "'cells[0]' must be an object");
  rejects(with([](auto& j) {
            for (int i = 0; i < 65; ++i) j["cells"][0]["blockPath"].push_back(std::string(64, '0'));
          }),
          "at most 64");
  rejects(nlohmann::json::array(), "must be an object");

  std::string text = proof_to_json(*proof);
  auto dup = proof_from_json("{\"slot\": 0, " + text.substr(1));
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.error().message, HasSubstr("duplicate key 'slot'"));
  auto trailing = proof_from_json(text + " x");
  ASSERT_FALSE(trailing.ok());
  EXPECT_THAT(trailing.error().message, HasSubstr("after the end"));
}

TEST(StorageProofWire, RandomDamageIsRefusedOrRejected) {
  // Whatever a damaged proof decodes to, it never passes the check, and
  // decoding never crashes (run under the sanitizers to mean something).
  Dataset d = make_dataset(20, 2048, 512, 4, 2, 1);
  Bytes challenge = challenge_of(1);
  auto proof = d.prove(1, challenge, 2);
  ASSERT_TRUE(proof.ok());
  Bytes wire = encode_storage_proof(*proof);
  std::string text = proof_to_json(*proof);
  std::mt19937_64 rng(21);
  for (int round = 0; round < 1500; ++round) {
    Bytes damaged = wire;
    std::string damaged_text = text;
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) {
      damaged[rng() % damaged.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
      damaged_text[rng() % damaged_text.size()] = static_cast<char>(rng());
    }
    auto decoded = decode_storage_proof(damaged);
    if (decoded.ok() && *decoded != *proof) {
      EXPECT_FALSE(check_storage_proof(*decoded, d.manifest, d.manifest_cid, challenge, 1, 2).ok()) << round;
    }
    auto parsed = proof_from_json(damaged_text);
    if (parsed.ok() && *parsed != *proof) {
      EXPECT_FALSE(check_storage_proof(*parsed, d.manifest, d.manifest_cid, challenge, 1, 2).ok()) << round;
    }
  }
}

// ---------------------------------------------------------------------------
// The JSON reader

TEST(StorageProofJsonParser, Values) {
  auto v = json::parse(R"( {"a": [true, false, null, -12, 0, 18446744073709551615, -9223372036854775808],
                            "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00é", "o": {}} )");
  ASSERT_TRUE(v.ok()) << v.error().message;
  ASSERT_EQ(v->kind, json::Kind::object);
  const json::Value* a = v->find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->array.size(), 7u);
  EXPECT_TRUE(a->array[0].boolean);
  EXPECT_EQ(a->array[2].kind, json::Kind::null);
  EXPECT_TRUE(a->array[3].negative);
  EXPECT_EQ(a->array[3].magnitude, 12u);
  EXPECT_EQ(a->array[5].magnitude, UINT64_MAX);
  EXPECT_EQ(a->array[6].magnitude, std::uint64_t{1} << 63);
  EXPECT_EQ(v->find("s")->string, "x\"\\/\b\f\n\r\t\xC3\xA9\xF0\x9F\x98\x80\xC3\xA9");
  EXPECT_EQ(v->find("o")->kind, json::Kind::object);
  EXPECT_EQ(v->find("missing"), nullptr);
  auto negative_zero = json::parse("-0");
  ASSERT_TRUE(negative_zero.ok());
  EXPECT_FALSE(negative_zero->negative);
}

TEST(StorageProofJsonParser, RejectsWhatIsNotStrictJson) {
  for (const char* bad : {"", " ", "{", "[1,]", "{\"a\":1,}", "{a:1}", "[01]", "[1.0]", "[1e3]", "[-]", "[+1]",
                          "[18446744073709551616]", "[-9223372036854775809]", "\"abc", "\"a\\x\"", "\"\\u12\"",
                          "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\x01\"", "\"\xC3\"",
                          "\"\xC0\x80\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\xEF\xBB\xBF{}", "tru",
                          "nul", "[1] [2]", "{\"a\":1 \"b\":2}", "{\"a\" 1}", "{\"a\":1,\"a\":2}", "NaN", "'a'"}) {
    auto v = json::parse(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.error().code, Errc::corrupt) << bad;
  }
}

TEST(StorageProofJsonParser, BoundsAndPositions) {
  json::Limits limits;
  limits.max_depth = 4;
  EXPECT_TRUE(json::parse("[[[[1]]]]", limits).ok());
  auto deep = json::parse("[[[[[1]]]]]", limits);
  ASSERT_FALSE(deep.ok());
  EXPECT_THAT(deep.error().message, HasSubstr("deeper than 4"));
  // The default depth protects the stack from a megabyte of brackets.
  EXPECT_FALSE(json::parse(std::string(1 << 20, '[')).ok());

  limits = {};
  limits.max_size = 10;
  EXPECT_THAT(json::parse("[1,2,3,4,5,6]", limits).error().message, HasSubstr("too large"));
  limits = {};
  limits.max_values = 3;
  EXPECT_TRUE(json::parse("[1,2]", limits).ok());
  EXPECT_THAT(json::parse("[1,2,3]", limits).error().message, HasSubstr("more than 3 values"));

  auto located = json::parse("{\n  \"a\": 1,\n  \"b\": 01\n}");
  ASSERT_FALSE(located.ok());
  EXPECT_THAT(located.error().message, HasSubstr("line 3 column 8"));
  EXPECT_THAT(located.error().message, HasSubstr("leading zeros"));
}

}  // namespace
}  // namespace codex
