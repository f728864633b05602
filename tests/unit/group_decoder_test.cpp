// Decoding EC groups (libcore/src/group_decoder.hpp): rebuilt blocks checked
// by decode_group itself, or left to check_rebuilt, which hashes many groups'
// blocks together (get into a pipe) and must name the first that does not
// match its leaf.
#include "group_decoder.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>

#include "codex/cid.hpp"
#include "codex/erasure.hpp"

namespace codex {
namespace {

constexpr std::size_t kBlock = 4096;

struct Dataset {
  SteppedLayout layout;
  std::vector<Bytes> blocks;  // all rows, by index
  std::vector<Digest> leaves;
};

// 40 data blocks at K=2 M=1: 20 groups, parity coded with `coder`.
Dataset make_dataset(ErasureCoder& coder) {
  std::mt19937_64 rng(7);
  Dataset d{*SteppedLayout::make(40, 2, 1), {}, {}};
  d.blocks.assign(d.layout.total, Bytes(kBlock));
  for (std::uint64_t i = 0; i < d.layout.blocks; ++i)
    for (auto& b : d.blocks[i]) b = static_cast<std::uint8_t>(rng());
  for (std::uint64_t g = 0; g < d.layout.steps; ++g) {
    const std::uint8_t* data[] = {d.blocks[d.layout.index(g, 0)].data(), d.blocks[d.layout.index(g, 1)].data()};
    std::uint8_t* parity[] = {d.blocks[d.layout.index(g, 2)].data()};
    EXPECT_TRUE(coder.encode(data, parity).ok());
  }
  for (const Bytes& b : d.blocks) d.leaves.push_back(sha256(b));
  return d;
}

TEST(GroupDecoder, CheckRebuiltTogetherMatchesCheckingEachGroup) {
  auto coder = ErasureCoder::open("liberasurecode_rs_vand", 2, 1, kBlock);
  ASSERT_TRUE(coder.ok()) << coder.error().message;
  Dataset d = make_dataset(*coder);
  const std::uint32_t rows = d.layout.slots();
  std::vector<GroupRebuild> unchecked, checked;
  for (std::uint64_t g = 0; g < d.layout.steps; ++g) {
    // Row 0 of every group is lost.
    std::vector<Bytes> blocks(rows);
    std::vector<Status> status(rows);
    for (std::uint32_t row = 0; row < rows; ++row) blocks[row] = d.blocks[d.layout.index(g, row)];
    blocks[0].clear();
    status[0] = make_error(Errc::not_found, "lost");
    auto all = [](std::uint32_t) { return true; };
    auto later = decode_group(d.layout, d.leaves, *coder, g, blocks, status, all, /*check_rebuilt=*/false);
    auto here = decode_group(d.layout, d.leaves, *coder, g, blocks, status, all);
    ASSERT_TRUE(later.ok() && here.ok());
    ASSERT_EQ(later->bad.size(), 1u);
    EXPECT_EQ(later->bad[0].block, d.blocks[d.layout.index(g, 0)]);
    EXPECT_EQ(here->bad[0].block, later->bad[0].block);
    unchecked.push_back(std::move(*later));
  }
  EXPECT_TRUE(check_rebuilt(unchecked, d.leaves).ok());
  EXPECT_TRUE(check_rebuilt({}, d.leaves).ok());
  // Two rebuilt blocks wrong (as a decoder fed bad rows would give): the
  // first in order is named.
  unchecked[5].bad[0].block[100] ^= 1;
  unchecked[9].bad[0].block[7] ^= 1;
  Status wrong = check_rebuilt(unchecked, d.leaves);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, Errc::corrupt);
  EXPECT_EQ(wrong.error().message,
            fmt::format("block {} rebuilt from EC group 5 does not match its CID '{}'", d.layout.index(5, 0),
                        Cid::from_digest(codec::block, d.leaves[d.layout.index(5, 0)]).to_string()));
}

}  // namespace
}  // namespace codex
