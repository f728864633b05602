// The member directory's index: every interned id is found again under its
// handle, ids sharing a long prefix stay apart, unknown ids are not found;
// and a ring filled in point order (merged) equals one filled in any order.
#include <gtest/gtest.h>

#include <algorithm>

#include "codex/protocol/directory.hpp"
#include "codex/protocol/placement.hpp"
#include "harness.hpp"

namespace codex::protocol::test {
namespace {

TEST(Directory, InternsAndFindsThousandsOfIds) {
  MemberDirectory dir;
  EXPECT_EQ(dir.find(make_id(0)), MemberDirectory::kNone);  // empty
  std::vector<MemberHandle> handles;
  for (std::uint32_t i = 0; i < 5000; ++i) handles.push_back(dir.intern(make_id(i)));
  EXPECT_EQ(dir.size(), 5000u);
  for (std::uint32_t i = 0; i < 5000; ++i) {
    EXPECT_EQ(handles[i], i);
    EXPECT_EQ(dir.intern(make_id(i)), handles[i]) << "interned twice: " << i;
    EXPECT_EQ(dir.find(make_id(i)), handles[i]);
    EXPECT_EQ(dir.id(handles[i]), make_id(i));
    EXPECT_EQ(dir.point(handles[i]), member_point(make_id(i)));
  }
  for (std::uint32_t i = 5000; i < 5100; ++i) EXPECT_EQ(dir.find(make_id(i)), MemberDirectory::kNone);
  EXPECT_EQ(dir.size(), 5000u);
}

TEST(Directory, IdsSharingAPrefixStayDistinct) {
  // A sender may name ids it chose: ids equal in their first 8 (or 31)
  // bytes must still be told apart.
  MemberDirectory dir;
  std::vector<MemberId> ids;
  for (std::uint32_t i = 0; i < 300; ++i) {
    MemberId id{};
    id.fill(0xab);
    id[31] = std::uint8_t(i);
    id[30] = std::uint8_t(i >> 8);
    ids.push_back(id);
  }
  for (const auto& id : ids) dir.intern(id);
  EXPECT_EQ(dir.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_NE(dir.find(ids[i]), MemberDirectory::kNone);
    EXPECT_EQ(dir.id(dir.find(ids[i])), ids[i]);
  }
  MemberId other{};
  other.fill(0xab);
  other[29] = 1;
  EXPECT_EQ(dir.find(other), MemberDirectory::kNone);
}

TEST(Directory, RingFilledInPointOrderEqualsRingFilledAnyOrder) {
  MemberDirectory dir;
  std::vector<MemberHandle> handles;
  for (std::uint32_t i = 0; i < 400; ++i) handles.push_back(dir.intern(make_id(i)));
  Ring shuffled(dir), merged(dir);
  shuffled.insert(handles[7]);
  merged.insert(handles[7]);
  shuffled.insert_many(handles);  // handle order: not point order
  auto sorted = handles;
  std::sort(sorted.begin(), sorted.end(), [&](MemberHandle a, MemberHandle b) { return dir.point(a) < dir.point(b); });
  merged.insert_many(sorted);     // point order: merged, duplicate of handles[7] dropped
  ASSERT_EQ(merged.size(), 400u);
  EXPECT_TRUE(std::equal(merged.members().begin(), merged.members().end(), shuffled.members().begin(),
                         shuffled.members().end()));
  EXPECT_TRUE(std::equal(merged.members().begin(), merged.members().end(), sorted.begin(), sorted.end()));
}

}  // namespace
}  // namespace codex::protocol::test
