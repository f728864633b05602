#include "codex/sha256.hpp"
#include "codex/storage_proof.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace codex {

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(to_hex(sha256(as_bytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalMatchesOneShot) {
  Sha256 h;
  h.update(as_bytes("a"));
  h.update(as_bytes("bc"));
  EXPECT_EQ(h.finish(), sha256(as_bytes("abc")));
  h.update(as_bytes(""));
  EXPECT_EQ(h.finish(), sha256(as_bytes("")));  // finish resets
}

// One-shot and batch digests take SHA-NI where the CPU has it; incremental
// hashing is always OpenSSL's, so it is the reference. Every length around the
// padding boundaries (55/56, 63/64, 119/120) and a few large ones.
std::vector<std::size_t> lengths_to_check() {
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 200; ++n) lengths.push_back(n);
  for (std::size_t n : {2047, 2048, 2049, 4096, 65535, 65536, 65537, 1000003}) lengths.push_back(n);
  return lengths;
}

Bytes random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

Digest reference(ByteView data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

TEST(Sha256, OneShotMatchesOpenSslAtEveryPaddingBoundary) {
  const Bytes data = random_bytes(1000003 + 7, 1);
  for (std::size_t n : lengths_to_check()) {
    ByteView input(data.data() + 3, n);  // unaligned on purpose
    ASSERT_EQ(sha256(input), reference(input)) << "length " << n;
  }
}

TEST(Sha256, EachMatchesOneByOne) {
  const Bytes data = random_bytes(2 * 1000003 + 16, 2);
  for (std::size_t n : lengths_to_check()) {
    // Two of equal size (hashed together), then one of another size, then a last single one.
    std::vector<ByteView> inputs = {ByteView(data.data(), n), ByteView(data.data() + n + 1, n),
                                    ByteView(data.data() + 5, n / 2), ByteView(data.data() + 9, n)};
    std::vector<Digest> out(inputs.size());
    sha256_each(inputs, out);
    for (std::size_t i = 0; i < inputs.size(); ++i) ASSERT_EQ(out[i], reference(inputs[i])) << "length " << n << " input " << i;
  }
  sha256_each({}, {});  // nothing to do
}

// Runs of equal size go sixteen at a time where the CPU has AVX-512
// (sha256_x16.hpp): full runs, short runs (empty lanes filled, their digests
// dropped), runs just too short for it (nine: two at a time), and a run cut
// by an input of another size, at every padding boundary.
TEST(Sha256, EachMatchesOneByOneInRunsOfSixteen) {
  const Bytes data = random_bytes(40 * 4096 + 64, 3);
  for (std::size_t n : lengths_to_check()) {
    if (n > 4096) continue;  // the long lengths are covered above
    for (std::size_t run : {9, 10, 15, 16, 17, 33}) {
      std::vector<ByteView> inputs;
      for (std::size_t i = 0; i < run; ++i) inputs.emplace_back(data.data() + i * 4096 + i % 7, n);  // unaligned
      if (run == 17) inputs[12] = ByteView(data.data() + 1, n / 2);  // another size in the middle
      std::vector<Digest> out(inputs.size());
      sha256_each(inputs, out);
      for (std::size_t i = 0; i < inputs.size(); ++i)
        ASSERT_EQ(out[i], reference(inputs[i])) << "length " << n << " run " << run << " input " << i;
    }
  }
  // Blocks of 64 KiB sixteen at a time, as chunk and encode hash them.
  const Bytes blocks = random_bytes(16 * 65536, 4);
  std::vector<ByteView> inputs;
  for (std::size_t i = 0; i < 16; ++i) inputs.emplace_back(blocks.data() + i * 65536, 65536);
  std::vector<Digest> out(inputs.size());
  sha256_each(inputs, out);
  for (std::size_t i = 0; i < inputs.size(); ++i) ASSERT_EQ(out[i], reference(inputs[i])) << "block " << i;
}

// Digests and cell roots in one pass (block_digests_and_cell_roots) give what
// sha256 and block_cell_root give one by one: full runs of sixteen blocks,
// short runs (empty lanes), runs too short for the shared pass, a run cut by
// a block of another size, cells of one chunk (64 bytes), of 2 KiB, a cell
// that does not divide the block, one cell per block, and empty blocks.
TEST(Sha256, DigestsAndCellRootsMatchOneByOne) {
  const Bytes data = random_bytes(40 * 8192 + 64, 5);
  struct Case {
    std::size_t size, cell, run;
  };
  for (const Case c : {Case{8192, 2048, 16}, Case{8192, 2048, 10}, Case{8192, 2048, 9}, Case{8192, 2048, 33},
                       Case{8192, 64, 16}, Case{4096, 4096, 16}, Case{8192, 3072, 16}, Case{8192, 1000, 16},
                       Case{0, 2048, 16}, Case{6144, 2048, 17}}) {
    std::vector<ByteView> blocks;
    for (std::size_t i = 0; i < c.run; ++i) blocks.emplace_back(data.data() + i * 8192 + i % 7, c.size);  // unaligned
    if (c.run == 17) blocks[12] = ByteView(data.data() + 3, c.size / 2);  // another size in the middle
    std::vector<Digest> digests(blocks.size()), roots(blocks.size());
    block_digests_and_cell_roots(blocks, c.cell, digests, roots);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      ASSERT_EQ(digests[i], reference(blocks[i])) << "size " << c.size << " cell " << c.cell << " block " << i;
      ASSERT_EQ(roots[i], block_cell_root(blocks[i], c.cell)) << "size " << c.size << " cell " << c.cell << " block " << i;
    }
  }
  // Blocks of 64 KiB in cells of 2 KiB, as the encoder hashes them.
  const Bytes big = random_bytes(16 * 65536, 6);
  std::vector<ByteView> blocks;
  for (std::size_t i = 0; i < 16; ++i) blocks.emplace_back(big.data() + i * 65536, 65536);
  std::vector<Digest> digests(16), roots(16);
  block_digests_and_cell_roots(blocks, 2048, digests, roots);
  for (std::size_t i = 0; i < 16; ++i) {
    ASSERT_EQ(digests[i], reference(blocks[i])) << "block " << i;
    ASSERT_EQ(roots[i], block_cell_root(blocks[i], 2048)) << "block " << i;
  }
}

TEST(Sha256, PairsMatchSha256PairAndFoldInPlace) {
  std::vector<Digest> nodes(9);
  for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i] = sha256(random_bytes(40, static_cast<unsigned>(i)));
  for (std::uint8_t key : {0, 1, 2, 3}) {
    for (std::size_t pairs = 0; pairs <= 4; ++pairs) {
      std::vector<Digest> expected(pairs);
      for (std::size_t i = 0; i < pairs; ++i) {
        Bytes buffer(nodes[2 * i].begin(), nodes[2 * i].end());
        buffer.insert(buffer.end(), nodes[2 * i + 1].begin(), nodes[2 * i + 1].end());
        buffer.push_back(key);
        expected[i] = reference(buffer);
        EXPECT_EQ(sha256_pair(nodes[2 * i], nodes[2 * i + 1], key), expected[i]);
      }
      std::vector<Digest> out(pairs);
      sha256_pairs(nodes.data(), pairs, key, out.data());
      EXPECT_EQ(out, expected);
      std::vector<Digest> in_place = nodes;
      sha256_pairs(in_place.data(), pairs, key, in_place.data());
      EXPECT_EQ(std::vector<Digest>(in_place.begin(), in_place.begin() + static_cast<std::ptrdiff_t>(pairs)), expected);
    }
  }
}

TEST(Hex, RoundTripAndRejects) {
  auto bytes = from_hex("00ff10Ab");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(to_hex(*bytes), "00ff10ab");
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

}  // namespace codex
