// Placement: the ring's XOR-closest queries agree with a brute-force scan,
// datasets get distinct holders, and a join or leave moves few slots.
#include <gtest/gtest.h>

#include <algorithm>

#include "codex/protocol/placement.hpp"
#include "harness.hpp"

namespace codex::protocol::test {
namespace {

TEST(Placement, ClosestMatchesBruteForce) {
  MemberDirectory dir;
  Ring ring(dir);
  std::vector<MemberHandle> all;
  for (std::uint32_t i = 0; i < 500; ++i) {
    MemberHandle h = dir.intern(make_id(i));
    ring.insert(h);
    all.push_back(h);
  }
  ring.insert(all[0]);  // idempotent
  EXPECT_EQ(ring.size(), 500u);
  for (std::uint32_t k = 0; k < 200; ++k) {
    Digest key = sha256(as_bytes("key-" + std::to_string(k)));
    auto brute = all;
    std::sort(brute.begin(), brute.end(), [&](MemberHandle a, MemberHandle b) {
      return closer(key, dir.point(a), dir.id(a), dir.point(b), dir.id(b));
    });
    for (std::size_t count : {1u, 6u, 17u}) {
      auto got = ring.closest(key, count);
      ASSERT_EQ(got.size(), count);
      EXPECT_TRUE(std::equal(got.begin(), got.end(), brute.begin())) << "key " << k << " count " << count;
    }
  }
}

TEST(Placement, DistinctHoldersAndFewMovesOnChurn) {
  MemberDirectory dir;
  Ring ring(dir);
  const std::uint32_t n = 200;
  for (std::uint32_t i = 0; i < n; ++i) ring.insert(dir.intern(make_id(i)));
  std::vector<std::vector<std::optional<MemberHandle>>> before;
  std::vector<DatasetDescriptor> sets;
  for (std::uint32_t d = 0; d < 1000; ++d) {
    DatasetDescriptor desc{sha256(as_bytes("dataset-" + std::to_string(d))), 4, 2, 1, false};
    sets.push_back(desc);
    auto placed = place_dataset(ring, desc);
    std::vector<MemberHandle> hs;
    for (auto& h : placed) {
      ASSERT_TRUE(h.has_value());
      hs.push_back(*h);
    }
    std::sort(hs.begin(), hs.end());
    EXPECT_EQ(std::unique(hs.begin(), hs.end()), hs.end()) << "two slots of one dataset on one member";
    before.push_back(placed);
  }
  // One member leaves: only the slots it held move (6 * 1000 / 200 = 30 expected).
  MemberHandle gone = dir.find(make_id(7));
  ring.erase(gone);
  std::size_t moved = 0, held_by_gone = 0;
  for (std::size_t d = 0; d < sets.size(); ++d) {
    auto after = place_dataset(ring, sets[d]);
    for (std::size_t s = 0; s < after.size(); ++s) {
      if (before[d][s] == gone) ++held_by_gone;
      if (after[s] != before[d][s]) ++moved;
    }
  }
  EXPECT_GT(held_by_gone, 0u);
  // Greedy in-order placement can shift a later slot of the same dataset too; bounded by slots per dataset.
  EXPECT_LE(moved, held_by_gone * 6);
  EXPECT_LT(moved, 6000u * 3 / n * 6);
}

}  // namespace
}  // namespace codex::protocol::test
