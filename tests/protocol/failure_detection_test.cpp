// Failure detection at the LAN parameters the loopback bench compares with
// Serf (bench/failure_detection.sh: probe 1 s, probe timeout 500 ms,
// suspicion multiplier 4, gossip every 200 ms to 3 members): how fast a death
// reaches every survivor, and that message loss does not make live members
// dead. Virtual time only.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness.hpp"

namespace codex::protocol::test {
namespace {

Config lan_config() {
  Config c;
  c.probe_interval = 1 * kSecond;
  c.probe_timeout = 500;
  c.suspicion_multiplier = 4;
  c.indirect_checks = 3;
  c.gossip_interval = 200;
  c.gossip_fanout = 3;
  c.sync_interval = 30 * kSecond;
  c.heartbeat_interval = kHour;
  return c;
}

void start(Cluster& c, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < n; ++i) c.join(i, {0});
  c.run_for(60 * kSecond);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(c.members[i].node->live_members(), n) << "member " << i;
}

// Deaths of members that were up, in every member's actions so far.
std::size_t false_deaths(const Cluster& c) {
  std::size_t n = 0;
  for (const Member& m : c.members)
    for (const Action& a : m.actions)
      if (const auto* ch = std::get_if<MemberChanged>(&a); ch && ch->status == MemberStatus::dead) {
        std::size_t who = c.index_of(ch->member);
        if (who != SIZE_MAX && c.members[who].up) ++n;
      }
  return n;
}

struct Spread {
  Time first = kNever, last = kNever;  // since the kill
};

// Kills `victim` and steps the world in 20 ms steps until every survivor has
// it dead (or `limit` passes).
Spread kill_and_watch(Cluster& c, std::size_t victim, Time limit) {
  Spread s;
  c.members[victim].up = false;
  const Time t0 = c.now;
  std::vector<bool> knows(c.members.size(), false);
  std::size_t told = 0;
  while (c.now - t0 < limit && told + 1 < c.members.size()) {
    c.run_for(20);
    for (std::size_t i = 0; i < c.members.size(); ++i) {
      if (i == victim || knows[i]) continue;
      if (c.members[i].node->status_of(c.members[victim].id) == MemberStatus::dead) {
        knows[i] = true;
        ++told;
        if (s.first == kNever) s.first = c.now - t0;
        if (told + 1 == c.members.size()) s.last = c.now - t0;
      }
    }
  }
  return s;
}

// A death declared by one survivor reaches the others by the dedicated
// gossip rounds within a few of them (memberlist: GossipInterval 200 ms,
// GossipNodes 3), not by the next probes' piggyback, which takes seconds.
TEST(FailureDetection, DeathReachesEverySurvivorWithinAProbePeriod) {
  for (std::uint64_t seed : {1, 2, 3}) {
    Cluster c(lan_config(), seed);
    start(c, 20);
    Spread s = kill_and_watch(c, 7, 60 * kSecond);
    ASSERT_NE(s.last, kNever) << "seed " << seed << ": not every survivor declared the death within 60 s";
    EXPECT_LE(s.last - s.first, 1 * kSecond) << "seed " << seed << ": first " << s.first << " ms, last " << s.last << " ms";
    // Probe (<= 1 s) + probe timeout + indirect probes + suspicion (min
    // 4 x log10(20) s = 5.2 s once two others confirm): Serf's ~8 s.
    EXPECT_LE(s.last, 10 * kSecond) << "seed " << seed;
    EXPECT_EQ(false_deaths(c), 0u) << "seed " << seed;
  }
}

// Lifeguard under loss: 10% of all messages lost (pings, acks, indirect
// probes, gossip alike) for ten minutes: suspicions of live members happen
// and are refuted, but none is declared dead; a member that really dies is
// still found. The seeds are runs in which a live member was declared dead
// before the buddy system (110, 114, 117: the suspect never heard of the
// suspicion) or with refutations retransmitted only as often as other
// news (114, 115: one member missed the refutation); 200 seeds of ten
// minutes each gave 0 false deaths with both, 12 of 40 seeds without the
// first, 30 of 200 without the second.
TEST(FailureDetection, NoFalseDeathAtTenPercentLoss) {
  for (std::uint64_t seed : {110, 114, 115, 117}) {
    Cluster c(lan_config(), seed);
    start(c, 20);
    c.loss_percent = 10;
    c.run_for(10 * kMinute);
    std::uint64_t suspicions = 0;
    for (const Member& m : c.members) suspicions += m.node->stats().suspicions_raised;
    EXPECT_EQ(false_deaths(c), 0u) << "seed " << seed << " (" << suspicions << " suspicions raised)";
    // The loss was real: it made probes fail (else this test proves nothing).
    EXPECT_GT(suspicions, 0u) << "seed " << seed;
    Spread s = kill_and_watch(c, 5, 2 * kMinute);
    EXPECT_NE(s.last, kNever) << "seed " << seed << ": the dead member was not found by every survivor under loss";
    EXPECT_EQ(false_deaths(c), 0u) << "seed " << seed;
  }
}

// A member that did not run for a while (its machine suspended, its process
// stopped) comes back with stale timers. Its suspicions ran out while it
// could hear no refutation: at its first tick it used to declare the
// suspects dead, live members among them. And the others declared it dead
// meanwhile: it learnt so only at its next sync or when told. Now the time
// away does not count towards its suspicions, and it refutes in advance with
// a higher incarnation, at once.
TEST(FailureDetection, AMemberThatSleptDeclaresNobodyDeadAndIsAliveAgainAtOnce) {
  for (std::uint64_t seed : {5, 6, 7}) {
    Cluster c(lan_config(), seed);
    start(c, 20);
    const std::size_t sleeper = 3, target = 9;
    for (std::size_t j = 0; j < c.members.size(); ++j)  // the target out of reach for a moment
      if (j != target) c.cut.insert({std::min(j, target), std::max(j, target)});
    for (int i = 0; i < 6000 && c.members[sleeper].node->status_of(c.members[target].id) != MemberStatus::suspect; ++i)
      c.run_for(10);
    ASSERT_EQ(c.members[sleeper].node->status_of(c.members[target].id), MemberStatus::suspect) << "seed " << seed;
    c.members[sleeper].up = false;
    c.cut.clear();
    const std::size_t seen = c.members[sleeper].actions.size();
    // Far past its suspicion timeout (at most 6 x 4 x log10(20) s = 31 s);
    // the others declare the sleeper dead meanwhile, rightly.
    c.run_for(2 * kMinute);
    ASSERT_EQ(c.members[0].node->status_of(c.members[sleeper].id), MemberStatus::dead) << "seed " << seed;
    c.members[sleeper].up = true;
    c.run_for(5 * kSecond);
    EXPECT_EQ(c.members[sleeper].node->stats().wakeups, 1u) << "seed " << seed;
    std::size_t declared = 0;
    for (std::size_t k = seen; k < c.members[sleeper].actions.size(); ++k)
      if (const auto* ch = std::get_if<MemberChanged>(&c.members[sleeper].actions[k]); ch && ch->status == MemberStatus::dead)
        ++declared;
    EXPECT_EQ(declared, 0u) << "seed " << seed << ": the member that slept declared live members dead";
    // Everyone has it alive again within seconds (its sync interval is 30 s).
    for (std::size_t i = 0; i < c.members.size(); ++i)
      EXPECT_EQ(c.members[i].node->status_of(c.members[sleeper].id), MemberStatus::alive)
          << "seed " << seed << ": member " << i;
  }
}

}  // namespace
}  // namespace codex::protocol::test
