// The stepped layout against the vectors in codex-vectors.json (groups,
// padding, parity, slots) and its edge cases.
#include "codex/layout.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace codex {
namespace {

nlohmann::json load_vectors() {
  std::ifstream in(CODEX_TEST_DATA "/codex-vectors.json");
  return nlohmann::json::parse(in);
}

std::vector<std::uint64_t> indices(const nlohmann::json& list) { return list.get<std::vector<std::uint64_t>>(); }

TEST(SteppedLayout, MatchesVectors) {
  const auto vectors = load_vectors().at("stepped_layout").at("cases");
  ASSERT_FALSE(vectors.empty());
  for (const auto& vector : vectors) {
    const std::uint64_t blocks = vector.at("blocksCount");
    const std::uint32_t k = vector.at("K");
    const std::uint32_t m = vector.at("M");
    SCOPED_TRACE(fmt::format("blocks={} K={} M={}", blocks, k, m));
    auto layout = SteppedLayout::make(blocks, k, m);
    ASSERT_TRUE(layout.ok()) << layout.error().message;
    EXPECT_EQ(layout->rounded, vector.at("rounded").get<std::uint64_t>());
    EXPECT_EQ(layout->steps, vector.at("steps").get<std::uint64_t>());
    EXPECT_EQ(layout->total, vector.at("total").get<std::uint64_t>());
    EXPECT_EQ(layout->slots(), k + m);

    const auto& groups = vector.at("groups");
    ASSERT_EQ(groups.size(), layout->steps);
    for (std::uint64_t s = 0; s < layout->steps; ++s) {
      std::vector<std::uint64_t> data, padding, parity;
      for (std::uint32_t r = 0; r < k + m; ++r) {
        const std::uint64_t index = layout->index(s, r);
        EXPECT_EQ(layout->group_of(index), s);
        EXPECT_EQ(layout->row_of(index), r);
        EXPECT_EQ(layout->is_parity(index), r >= k);
        (r < k ? data : parity).push_back(index);
        if (layout->is_padding(index)) padding.push_back(index);
      }
      EXPECT_EQ(data, indices(groups[s].at("data"))) << "group " << s;
      EXPECT_EQ(padding, indices(groups[s].at("padding"))) << "group " << s;
      EXPECT_EQ(parity, indices(groups[s].at("parity"))) << "group " << s;
    }

    const auto& slots = vector.at("slots");
    ASSERT_EQ(slots.size(), layout->slots());
    for (std::uint32_t slot = 0; slot < layout->slots(); ++slot) {
      std::vector<std::uint64_t> members;
      for (std::uint64_t index = layout->slot_begin(slot); index < layout->slot_end(slot); ++index) {
        EXPECT_EQ(layout->slot_of(index), slot);
        members.push_back(index);
      }
      EXPECT_EQ(members, indices(slots[slot])) << "slot " << slot;
    }
  }
}

TEST(SteppedLayout, EveryIndexOnceAcrossGroups) {
  auto layout = SteppedLayout::make(13, 3, 2);
  ASSERT_TRUE(layout.ok());
  std::vector<int> seen(layout->total, 0);
  for (std::uint64_t s = 0; s < layout->steps; ++s)
    for (std::uint32_t r = 0; r < layout->slots(); ++r) ++seen[layout->index(s, r)];
  EXPECT_EQ(seen, std::vector<int>(layout->total, 1));
  EXPECT_FALSE(layout->is_padding(12));
  EXPECT_TRUE(layout->is_padding(13));
  EXPECT_TRUE(layout->is_padding(14));
  EXPECT_FALSE(layout->is_padding(15));  // parity, not padding
  EXPECT_TRUE(layout->is_parity(15));
}

// nim-codex refuses K > blocks; the toolkit pads one group instead.
TEST(SteppedLayout, MoreDataRowsThanBlocksMakesOnePaddedGroup) {
  auto layout = SteppedLayout::make(2, 4, 2);
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  EXPECT_EQ(layout->rounded, 4u);
  EXPECT_EQ(layout->steps, 1u);
  EXPECT_EQ(layout->total, 6u);
  EXPECT_FALSE(layout->is_padding(1));
  EXPECT_TRUE(layout->is_padding(2));
  EXPECT_TRUE(layout->is_padding(3));
  EXPECT_TRUE(layout->is_parity(4));
  EXPECT_EQ(layout->slot_of(5), 5u);

  auto single = SteppedLayout::make(1, 1, 1);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->total, 2u);
  EXPECT_EQ(single->index(0, 1), 1u);
}

TEST(SteppedLayout, RejectsBadParameters) {
  struct Case {
    std::uint64_t blocks;
    std::uint32_t k, m;
    std::string message;
  };
  const std::vector<Case> cases = {
      {10, 0, 2, "K must be at least 1 (got 0)"},
      {10, 4, 0, "M must be at least 1 (got 0)"},
      {10, 17, 16, "K+M must be at most 32 with liberasurecode 1.6.2 (got 17+16=33)"},
      {10, 0xFFFFFFFFu, 1, "K+M must be at most 32 with liberasurecode 1.6.2 (got 4294967295+1=4294967296)"},
      {0, 4, 2, "a dataset to encode needs at least one block"},
  };
  for (const auto& c : cases) {
    auto layout = SteppedLayout::make(c.blocks, c.k, c.m);
    ASSERT_FALSE(layout.ok()) << c.message;
    EXPECT_EQ(layout.error().code, Errc::usage);
    EXPECT_EQ(layout.error().message, c.message);
  }
  EXPECT_TRUE(SteppedLayout::make(10, 28, 4).ok());
}

}  // namespace
}  // namespace codex
