// Hostile input: replayed and forged heartbeats, non-members, revoked
// members, forged membership records, garbage bytes.
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
  c.heartbeat_interval = 30 * kSecond;
  c.repair_backoff = 2 * kSecond;
  return c;
}

void start(Cluster& c, int n) {
  for (int i = 0; i < n; ++i) c.add();
  c.join(0, {});
  for (int i = 1; i < n; ++i) c.join(i, {0});
  c.run_for(30 * kSecond);
}

TEST(Security, ReplayedAndForgedHeartbeatsRefused) {
  Cluster c(fast_config());
  start(c, 8);
  DatasetDescriptor d{sha256(as_bytes("sec")), 4, 2, 1, false};
  for (std::uint32_t s = 0; s < 6; ++s) c.members[0].proofs->held.insert({d.id, s});
  std::vector<std::tuple<std::size_t, std::size_t, Bytes>> heartbeats;
  c.tap = [&](std::size_t from, std::size_t to, const Bytes& payload) {
    if (payload.size() > 2 && payload[1] == std::uint8_t(MessageType::heartbeat)) heartbeats.emplace_back(from, to, payload);
  };
  c.local(0, DatasetPublished{d});
  c.run_for(2 * kMinute);
  ASSERT_FALSE(heartbeats.empty());
  auto [from, to, payload] = heartbeats.front();
  std::uint64_t replays = c.members[to].node->stats().refused_replay;
  c.inject(from, to, payload);
  c.run_for(kSecond);
  EXPECT_EQ(c.members[to].node->stats().refused_replay, replays + 1);

  // A forged heartbeat: a fresh sequence number, but the signature no longer matches.
  auto decoded = decode(payload);
  ASSERT_TRUE(decoded.ok());
  auto hb = std::get<Heartbeat>(*decoded);
  hb.seq += 1000;
  std::uint64_t forged = c.members[to].node->stats().refused_signature;
  c.inject(from, to, encode(hb));
  c.run_for(kSecond);
  EXPECT_EQ(c.members[to].node->stats().refused_signature, forged + 1);

  // The same heartbeat sent by someone else than its holder.
  std::size_t other = (from + 1) % c.members.size() == to ? (from + 2) % c.members.size() : (from + 1) % c.members.size();
  std::uint64_t refused = c.members[to].node->stats().refused;
  c.inject(other, to, payload);
  c.run_for(kSecond);
  EXPECT_EQ(c.members[to].node->stats().refused, refused + 1);
}

TEST(Security, MemberWithoutCertificateNeverAdmitted) {
  Cluster c(fast_config());
  start(c, 4);
  // A node whose certificate the owner never signed.
  std::size_t rogue = c.add();
  Bytes bad = c.keys.certificate(c.members[rogue].id, 1);
  bad.back() ^= 1;
  SelfIdentity self{c.members[rogue].id, bad, {}};
  c.members[rogue].node = std::make_unique<Node>(fast_config(), self, *c.members[rogue].crypto, *c.members[rogue].proofs, 99);
  c.join(rogue, {0});
  c.run_for(kMinute);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_FALSE(c.members[i].node->status_of(c.members[rogue].id).has_value() &&
                 is_live(*c.members[i].node->status_of(c.members[rogue].id)));
    EXPECT_EQ(c.members[i].node->live_members(), 4u);
  }
  EXPECT_GT(c.members[0].node->stats().refused_non_member, 0u);
}

TEST(Security, CertificateOfAnotherMemberRefused) {
  Cluster c(fast_config());
  start(c, 3);
  std::size_t thief = c.add();
  SelfIdentity self{c.members[thief].id, c.keys.certificate(c.members[1].id, 1), {}};
  c.members[thief].node = std::make_unique<Node>(fast_config(), self, *c.members[thief].crypto, *c.members[thief].proofs, 7);
  c.join(thief, {0});
  c.run_for(kMinute);
  EXPECT_EQ(c.members[0].node->live_members(), 3u);
}

TEST(Security, RevocationSpreadsAndExpels) {
  Cluster c(fast_config());
  start(c, 6);
  Update u;
  u.kind = UpdateKind::revocation;
  u.revocation = c.keys.revocation(c.members[5].id, 1);
  // Member 0 hears of it (e.g. from the owner's tool) and gossips it.
  c.inject(1, 0, encode(Gossip{{u}}));
  c.run_for(2 * kMinute);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(c.members[i].node->status_of(c.members[5].id), MemberStatus::revoked) << "member " << i;
    EXPECT_EQ(c.members[i].node->live_members(), 5u);
  }
  // Messages from the revoked member are dropped.
  std::uint64_t refused = c.members[0].node->stats().refused_non_member;
  c.inject(5, 0, encode(Ping{1, c.members[0].id, {}}));
  c.run_for(kSecond);
  EXPECT_EQ(c.members[0].node->stats().refused_non_member, refused + 1);
}

TEST(Security, ForgedAliveRecordRefused) {
  Cluster c(fast_config());
  start(c, 3);
  // An alive record for a stranger, carrying a valid certificate but signed by the wrong key.
  MemberId stranger = make_id(777);
  Update u;
  u.kind = UpdateKind::alive;
  u.member = stranger;
  u.incarnation = 5;
  u.certificate = c.keys.certificate(stranger, 3);
  u.signature = Bytes(32, 0xab);
  std::uint64_t before = c.members[0].node->stats().refused_signature;
  c.inject(1, 0, encode(Gossip{{u}}));
  c.run_for(kSecond);
  EXPECT_EQ(c.members[0].node->stats().refused_signature, before + 1);
  EXPECT_FALSE(c.members[0].node->status_of(stranger).has_value());
}

TEST(Security, GarbageIsRefusedWithoutHarm) {
  Cluster c(fast_config());
  start(c, 3);
  std::mt19937_64 rng(5);
  std::uint64_t before = c.members[0].node->stats().refused;
  for (int i = 0; i < 200; ++i) {
    Bytes junk(rng() % 64);
    for (auto& b : junk) b = std::uint8_t(rng());
    if (!junk.empty()) junk[0] = kWireVersion;
    c.inject(1, 0, junk);
  }
  c.run_for(kSecond);
  EXPECT_GE(c.members[0].node->stats().refused, before + 150);
  EXPECT_EQ(c.members[0].node->live_members(), 3u);
}

}  // namespace
}  // namespace codex::protocol::test
