// The core with real Ed25519 signatures and community certificates
// (libcore identity and community): members join and watch each other; a
// certificate from another community or for another key is refused; peer
// ids and member ids convert both ways.
#include <gtest/gtest.h>

#include "codex/protocol/real_crypto.hpp"
#include "harness.hpp"

namespace codex::protocol::test {
namespace {

constexpr std::int64_t kEpoch = 1'800'000'000;  // unix seconds at the core's time 0

Ed25519Key key_from(std::string_view name) {
  Digest seed = sha256(as_bytes(name));
  return *Ed25519Key::from_seed(ByteView(seed.data(), seed.size()));
}

struct RealWorld {
  Ed25519Key owner = key_from("owner");
  Community community = *Community::from_owner_key(owner.public_key());
  std::vector<std::unique_ptr<Ed25519Key>> keys;
  UnixClock clock = [](Time t) { return kEpoch + t / 1000; };

  Cluster::Identity identity(std::size_t i, const Ed25519Key* certificate_owner = nullptr) {
    keys.push_back(std::make_unique<Ed25519Key>(key_from("member " + std::to_string(i))));
    const Ed25519Key& key = *keys.back();
    Cluster::Identity id;
    id.id = *member_id_of(key.peer_id());
    const Ed25519Key& signer = certificate_owner ? *certificate_owner : owner;
    id.certificate = MembershipCertificate::issue(signer, key.peer_id(), kEpoch - 10, kEpoch + 86400, 1).encode();
    id.crypto = std::make_unique<Ed25519Crypto>(key, community, clock);
    return id;
  }
};

Config fast_config() {
  Config c;
  c.probe_interval = 1 * kSecond;
  c.probe_timeout = 200;
  c.sync_interval = 5 * kSecond;
  c.heartbeat_interval = 30 * kSecond;
  c.repair_backoff = 2 * kSecond;
  return c;
}

TEST(RealCrypto, MemberIdsArePeerIds) {
  Ed25519Key key = key_from("x");
  auto id = member_id_of(key.peer_id());
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(std::equal(id->begin(), id->end(), key.public_key().begin()));
  EXPECT_EQ(*peer_id_of(*id), key.peer_id());
  // The placement point is SHA-256 of the peer id bytes, as libp2p Kademlia keys peers.
  EXPECT_EQ(member_point(*id), sha256(key.peer_id().bytes()));
}

TEST(RealCrypto, MembersJoinAndHoldWithSignedHeartbeats) {
  RealWorld world;
  Cluster c(fast_config());
  c.identity_factory = [&](std::size_t i) { return world.identity(i); };
  for (int i = 0; i < 7; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < 7; ++i) c.join(i, {0});
  c.run_for(30 * kSecond);
  for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(c.members[i].node->live_members(), 7u);
  DatasetDescriptor d{sha256(as_bytes("real")), 4, 2, 1, false};
  for (std::uint32_t s = 0; s < 6; ++s) c.members[0].proofs->held.insert({d.id, s});
  c.local(0, DatasetPublished{d});
  c.run_for(3 * kMinute);
  std::uint64_t accepted = 0, refused = 0;
  for (auto& m : c.members) {
    accepted += m.node->stats().heartbeats_accepted;
    refused += m.node->stats().refused_signature;
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_EQ(refused, 0u);
}

TEST(RealCrypto, CertificateFromAnotherOwnerRefused) {
  RealWorld world;
  Ed25519Key stranger_owner = key_from("another owner");
  Cluster c(fast_config());
  c.identity_factory = [&](std::size_t i) { return world.identity(i, i == 3 ? &stranger_owner : nullptr); };
  for (int i = 0; i < 4; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < 4; ++i) c.join(i, {0});
  c.run_for(kMinute);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(c.members[i].node->live_members(), 3u) << "member " << i;
    EXPECT_FALSE(c.members[i].node->status_of(c.members[3].id).has_value());
  }
}

TEST(RealCrypto, ExpiredCertificateEndsMembership) {
  RealWorld world;
  Cluster c(fast_config());
  c.identity_factory = [&](std::size_t i) {
    auto id = world.identity(i);
    if (i == 2) {
      const Ed25519Key& key = *world.keys.back();
      id.certificate = MembershipCertificate::issue(world.owner, key.peer_id(), kEpoch - 10, kEpoch + 60, 1).encode();
    }
    return id;
  };
  for (int i = 0; i < 4; ++i) c.add();
  c.join(0, {});
  for (std::size_t i = 1; i < 4; ++i) c.join(i, {0});
  c.run_for(30 * kSecond);
  EXPECT_EQ(c.members[0].node->live_members(), 4u);
  c.run_for(2 * kMinute);  // member 2's certificate expired at 60 s
  EXPECT_EQ(c.members[0].node->status_of(c.members[2].id), MemberStatus::dead);
}

}  // namespace
}  // namespace codex::protocol::test
