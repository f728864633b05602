// Membership: joining, failure detection, refutation, convergence after loss
// and partitions, admission and revocation.
#include <gtest/gtest.h>

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
