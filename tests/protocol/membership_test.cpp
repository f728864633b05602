// Membership: joining, failure detection, refutation, convergence after loss
// and partitions, admission and revocation.
#include <gtest/gtest.h>

#include "codex/protocol/messages.hpp"
#include "harness.hpp"

namespace codex::protocol::test {
namespace {

Config fast_config() {
  Config c;
  c.probe_interval = 1 * kSecond;
  c.probe_timeout = 200;
  c.sync_interval = 5 * kSecond;
  c.heartbeat_interval = kMinute;
  c.repair_backoff = 2 * kSecond;
  c.repair_timeout = 5 * kMinute;
  return c;
}

std::size_t live_view(Cluster& c, std::size_t i) { return c.members[i].node->live_members(); }

TEST(Membership, JoinsConverge) {
  Cluster c(fast_config());
  for (int i = 0; i < 6; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < 6; ++i) c.join(i, {0});
  c.run_for(30 * kSecond);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(live_view(c, i), 6u) << "member " << i;
}

TEST(Membership, DeadMemberDetected) {
  Cluster c(fast_config());
  for (int i = 0; i < 6; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < 6; ++i) c.join(i, {0});
  c.run_for(20 * kSecond);
  c.members[3].up = false;
  c.run_for(2 * kMinute);
  for (std::size_t i = 0; i < 6; ++i) {
    if (i == 3) continue;
    EXPECT_EQ(c.members[i].node->status_of(c.members[3].id), MemberStatus::dead) << "member " << i;
    EXPECT_EQ(live_view(c, i), 5u);
  }
}

}  // namespace
}  // namespace codex::protocol::test

namespace codex::protocol::test {
namespace {

Config convergence_config() {
  Config c;
  c.probe_interval = 1 * kSecond;
  c.probe_timeout = 200;
  c.sync_interval = 5 * kSecond;
  c.heartbeat_interval = kMinute;
  return c;
}

TEST(Membership, ConvergesDespiteLoss) {
  Cluster c(convergence_config(), 42);
  c.loss_percent = 20;
  for (int i = 0; i < 12; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < 12; ++i) c.join(i, {0});
  c.run_for(2 * kMinute);
  c.loss_percent = 0;  // then a quiet spell: views must agree everywhere
  c.run_for(2 * kMinute);
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(c.members[i].node->live_members(), 12u) << "member " << i;
}

TEST(Membership, PartitionHeals) {
  Cluster c(convergence_config(), 7);
  for (int i = 0; i < 8; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < 8; ++i) c.join(i, {0});
  c.run_for(30 * kSecond);
  for (std::size_t a = 0; a < 4; ++a)
    for (std::size_t b = 4; b < 8; ++b) c.cut.insert({a, b});
  c.run_for(5 * kMinute);
  // Each side declared the other dead.
  EXPECT_EQ(c.members[0].node->live_members(), 4u);
  EXPECT_EQ(c.members[7].node->live_members(), 4u);
  c.cut.clear();
  // Dead members only come back by refuting; anti-entropy carries the news across.
  c.run_for(10 * kMinute);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(c.members[i].node->live_members(), 8u) << "member " << i;
}

TEST(Membership, SuspectedMemberRefutes) {
  Cluster c(convergence_config(), 3);
  for (int i = 0; i < 6; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < 6; ++i) c.join(i, {0});
  c.run_for(30 * kSecond);
  // Member 1 falsely accuses member 2.
  Update u{UpdateKind::suspect, c.members[2].id, 0, c.members[1].id, {}, {}, {}, {}};
  c.inject(1, 0, encode(Gossip{{u}}));
  c.run_for(kMinute);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(c.members[i].node->status_of(c.members[2].id).value_or(MemberStatus::alive), MemberStatus::alive);
  EXPECT_GE(c.members[2].node->stats().refutations, 1u);
}

TEST(Membership, LeaveIsAnnounced) {
  Cluster c(convergence_config(), 9);
  for (int i = 0; i < 6; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < 6; ++i) c.join(i, {0});
  c.run_for(30 * kSecond);
  Output out;
  c.members[4].node->leave(c.now, out);
  for (auto& m : out.messages) c.inject(4, c.index_of(m.to), m.payload);
  c.members[4].up = false;
  c.run_for(20 * kSecond);
  for (std::size_t i = 0; i < 6; ++i) {
    if (i == 4) continue;
    EXPECT_EQ(c.members[i].node->status_of(c.members[4].id), MemberStatus::left) << "member " << i;
  }
}

}  // namespace
}  // namespace codex::protocol::test
