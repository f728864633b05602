// Decoding EC groups (libcore/src/group_decoder.hpp): rebuilt blocks checked
// by decode_group itself, or left to check_rebuilt, which hashes many groups'
// blocks together (get into a pipe) and must name the first that does not
// match its leaf. BlockBuffers, which rebuilt blocks are decoded into, hands
// out buffers of one block size and keeps a bounded number given back.
#include "group_decoder.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <random>
#include <set>

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

TEST(GroupDecoder, BlockBuffersReuseWhatIsGivenBackUpToTheirBound) {
  BlockBuffers buffers(kBlock, 2);
  Bytes a = buffers.take();
  ASSERT_EQ(a.size(), kBlock);
  const std::uint8_t* a_memory = a.data();
  buffers.give(std::move(a));
  Bytes again = buffers.take();
  EXPECT_EQ(again.data(), a_memory) << "a buffer given back is not reused";
  EXPECT_EQ(again.size(), kBlock);
  // Not a block (empty, or another size): not kept.
  buffers.give(Bytes());
  buffers.give(Bytes(kBlock / 2));
  Bytes fresh = buffers.take();
  EXPECT_EQ(fresh.size(), kBlock);
  EXPECT_NE(fresh.data(), a_memory);
  // At most two kept.
  Bytes third(kBlock);
  const std::uint8_t* kept[] = {again.data(), fresh.data()};
  buffers.give(std::move(again));
  buffers.give(std::move(fresh));
  buffers.give(std::move(third));
  Bytes x = buffers.take(), y = buffers.take(), z = buffers.take();
  EXPECT_EQ(std::set<const std::uint8_t*>({x.data(), y.data()}), std::set<const std::uint8_t*>(kept, kept + 2));
  EXPECT_EQ(z.size(), kBlock);
}

// Decoding into buffers from a BlockBuffers gives the same blocks, whatever
// the buffers held before.
TEST(GroupDecoder, DecodesIntoReusedBuffers) {
  auto coder = ErasureCoder::open("liberasurecode_rs_vand", 2, 1, kBlock);
  ASSERT_TRUE(coder.ok()) << coder.error().message;
  Dataset d = make_dataset(*coder);
  BlockBuffers buffers(kBlock, 4);
  buffers.give(Bytes(kBlock, 0xAB));  // stale bytes, as a buffer given back holds
  for (std::uint64_t g = 0; g < d.layout.steps; ++g) {
    std::vector<Bytes> blocks(d.layout.slots());
    std::vector<Status> status(d.layout.slots());
    for (std::uint32_t row = 0; row < d.layout.slots(); ++row) blocks[row] = d.blocks[d.layout.index(g, row)];
    blocks[1].clear();
    status[1] = make_error(Errc::not_found, "lost");
    auto decoded = decode_group(d.layout, d.leaves, *coder, g, blocks, status, [](std::uint32_t) { return true; },
                                /*check_rebuilt=*/true, &buffers);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    ASSERT_EQ(decoded->bad.size(), 1u);
    EXPECT_EQ(decoded->bad[0].block, d.blocks[d.layout.index(g, 1)]);
    buffers.give(std::move(decoded->bad[0].block));
  }
}

}  // namespace
}  // namespace codex
