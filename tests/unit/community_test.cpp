// Membership certificates and revocations: encoding round trips, every way a
// certificate fails its check, and revocation by serial.
#include "codex/community.hpp"

#include "test_support.hpp"

namespace codex {
namespace {

Ed25519Key key_from(std::uint8_t fill) { return *Ed25519Key::from_seed(Bytes(32, fill)); }

struct Fixture {
  Ed25519Key owner = key_from(1);
  Ed25519Key member = key_from(2);
  Community community = *Community::from_owner_key(owner.public_key());
};

TEST(Community, IdIsOwnerPeerIdAndParses) {
  Fixture f;
  EXPECT_EQ(f.community.id(), f.owner.peer_id());
  auto parsed = Community::parse(f.community.to_string());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, f.community);
  EXPECT_FALSE(Community::parse("nonsense").ok());
}

TEST(Certificate, RoundTripAndVerify) {
  Fixture f;
  auto cert = MembershipCertificate::issue(f.owner, f.member.peer_id(), 1000, 2000, 7);
  Bytes encoded = cert.encode();
  ASSERT_EQ(encoded.size(), MembershipCertificate::kEncodedSize);
  auto decoded = MembershipCertificate::decode(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->encode(), encoded);  // one encoding
  EXPECT_EQ(decoded->member, f.member.peer_id());
  EXPECT_EQ(decoded->serial, 7u);
  EXPECT_TRUE(decoded->verify(f.community, 1500).ok());
  EXPECT_TRUE(decoded->verify(f.community, 1000 - kCertificateClockSkew).ok());
}

TEST(Certificate, FailsEveryCheck) {
  Fixture f;
  auto cert = MembershipCertificate::issue(f.owner, f.member.peer_id(), 1000, 2000, 1);
  EXPECT_EQ(cert.verify(f.community, 2000).error().code, Errc::rejected);  // expired
  EXPECT_EQ(cert.verify(f.community, 1000 - kCertificateClockSkew - 1).error().code, Errc::rejected);
  Community other = *Community::from_owner_key(key_from(3).public_key());
  EXPECT_EQ(cert.verify(other, 1500).error().code, Errc::rejected);
  // Signed by someone else but claiming the owner's key.
  auto forged = MembershipCertificate::issue(key_from(3), f.member.peer_id(), 1000, 2000, 1);
  forged.owner_public_key = f.owner.public_key();
  EXPECT_EQ(forged.verify(f.community, 1500).error().code, Errc::rejected);
  // Any bit flipped anywhere in the encoding breaks it (decoding or signature).
  Bytes encoded = cert.encode();
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    Bytes altered = encoded;
    altered[i] ^= 0x01;
    auto decoded = MembershipCertificate::decode(altered);
    if (decoded.ok()) {
      EXPECT_FALSE(decoded->verify(f.community, 1500).ok()) << "byte " << i;
    }
  }
  auto inverted = MembershipCertificate::issue(f.owner, f.member.peer_id(), 2000, 1000, 1);
  EXPECT_FALSE(inverted.verify(f.community, 1500).ok());
}

TEST(Certificate, DecodeIsStrict) {
  Fixture f;
  Bytes encoded = MembershipCertificate::issue(f.owner, f.member.peer_id(), 1, 2, 1).encode();
  EXPECT_EQ(MembershipCertificate::decode(ByteView(encoded).first(100)).error().code, Errc::corrupt);
  Bytes longer = encoded;
  longer.push_back(0);
  EXPECT_EQ(MembershipCertificate::decode(longer).error().code, Errc::corrupt);
  Bytes revocation = Revocation::issue(f.owner, f.member.peer_id(), 1, 1).encode();
  EXPECT_FALSE(MembershipCertificate::decode(revocation).ok());
  EXPECT_FALSE(Revocation::decode(encoded).ok());
  Bytes huge_time = encoded;
  huge_time[74] = 0x80;  // issued's top byte: beyond int64
  EXPECT_EQ(MembershipCertificate::decode(huge_time).error().code, Errc::corrupt);
}

TEST(Revocation, RevokesBySerialAndAdmissionChecks) {
  Fixture f;
  PeerId peer = f.member.peer_id();
  auto first = MembershipCertificate::issue(f.owner, peer, 1000, 5000, 1);
  auto second = MembershipCertificate::issue(f.owner, peer, 1100, 5000, 2);
  RevocationList list(f.community);
  EXPECT_TRUE(check_admission(first, peer, f.community, list, 1500).ok());
  EXPECT_FALSE(check_admission(first, key_from(9).peer_id(), f.community, list, 1500).ok());

  auto revocation = Revocation::issue(f.owner, peer, 1, 1200);
  auto decoded = Revocation::decode(revocation.encode());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->encode().size(), Revocation::kEncodedSize);
  EXPECT_TRUE(*list.add(*decoded));
  EXPECT_FALSE(*list.add(*decoded));  // nothing new
  EXPECT_EQ(check_admission(first, peer, f.community, list, 1500).error().code, Errc::rejected);
  EXPECT_TRUE(check_admission(second, peer, f.community, list, 1500).ok());  // re-admitted

  auto forged = Revocation::issue(key_from(3), peer, 9, 1200);
  forged.owner_public_key = f.owner.public_key();
  EXPECT_FALSE(list.add(forged).ok());
  EXPECT_TRUE(check_admission(second, peer, f.community, list, 1500).ok());
}

}  // namespace
}  // namespace codex
