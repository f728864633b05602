// The libp2p TLS certificate: the spec's test vectors (valid ones accepted
// with the right peer id, the invalid one refused), our own certificates
// round-tripping, and tampering, expiry and malformed extensions refused.
#include "codex/net/tls_certificate.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "codex/cid.hpp"

namespace codex::net::tls {
namespace {

struct Vector {
  bool valid;
  Bytes der;
  std::string peer_id;
};

std::vector<Vector> load_vectors() {
  std::ifstream in(std::string(CODEX_NET_TEST_DATA) + "/tls-vectors.txt");
  std::vector<Vector> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string kind, hex, id;
    f >> kind >> hex >> id;
    out.push_back({kind == "valid", *from_hex(hex), id});
  }
  return out;
}

// The vectors were issued in 1975 and expire in 4096; check them at a fixed time.
constexpr std::int64_t kNow = 1764547200;  // 2025-12-01

TEST(TlsCertificate, SpecVectors) {
  auto vectors = load_vectors();
  ASSERT_EQ(vectors.size(), 4u);
  int valid = 0;
  for (const auto& v : vectors) {
    auto id = verify_certificate(v.der, kNow);
    if (v.valid) {
      ++valid;
      ASSERT_TRUE(id.ok()) << v.peer_id << ": " << id.error().message;
      auto expected = base58btc_decode(v.peer_id);
      ASSERT_TRUE(expected.ok());
      EXPECT_EQ(id->peer_id, *expected) << v.peer_id;
    } else {
      ASSERT_FALSE(id.ok());
      EXPECT_EQ(id.error().code, Errc::rejected) << id.error().message;
      EXPECT_NE(id.error().message.find("signature"), std::string::npos) << id.error().message;
    }
  }
  EXPECT_EQ(valid, 3);
}

TEST(TlsCertificate, Ed25519VectorIsAMemberPeerId) {
  auto vectors = load_vectors();
  auto id = verify_certificate(vectors[0].der, kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->key_type, KeyType::ed25519);
  auto peer = PeerId::from_bytes(id->peer_id);
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(peer->to_string(), "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv");
}

TEST(TlsCertificate, VectorsOutsideTheirValidityAreRefused) {
  auto vectors = load_vectors();
  auto early = verify_certificate(vectors[0].der, 100000000);  // 1973
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.error().message.find("not valid yet"), std::string::npos);
}

TEST(TlsCertificate, OurCertificateRoundTrips) {
  auto key = Ed25519Key::generate();
  ASSERT_TRUE(key.ok());
  auto cert = make_certificate(*key, kNow);
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  auto id = verify_certificate(cert->der(), kNow);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->peer_id, key->peer_id().bytes());
  EXPECT_EQ(id->public_key, ed25519_public_key_protobuf(key->public_key()));
  // Valid an hour back (skew), expired a hundred years on.
  EXPECT_TRUE(verify_certificate(cert->der(), kNow - 1800).ok());
  EXPECT_FALSE(verify_certificate(cert->der(), kNow - 7200).ok());
  EXPECT_FALSE(verify_certificate(cert->der(), kNow + 101ll * 365 * 86400).ok());
}

TEST(TlsCertificate, AnyFlippedByteIsRefusedOrHarmless) {
  // Flip each byte of a certificate in turn: either it no longer parses or
  // verifies, or (bytes outside what is signed, e.g. unused bits) it still
  // proves exactly the same peer id. Never another identity.
  auto key = *Ed25519Key::generate();
  Bytes der = make_certificate(key, kNow)->der();
  int refused = 0;
  for (std::size_t i = 0; i < der.size(); ++i) {
    Bytes bad = der;
    bad[i] ^= 0x01;
    auto id = verify_certificate(bad, kNow);
    if (!id.ok()) {
      ++refused;
      continue;
    }
    EXPECT_EQ(id->peer_id, key.peer_id().bytes()) << "byte " << i;
  }
  EXPECT_GT(refused, static_cast<int>(der.size() * 9 / 10));
}

TEST(TlsCertificate, SignedKeyCodec) {
  Bytes pk(36, 7), sig(64, 9);
  Bytes der = encode_signed_key(pk, sig);
  auto back = decode_signed_key(der);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->first, pk);
  EXPECT_EQ(back->second, sig);
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(decode_signed_key(trailing).ok());
  Bytes truncated(der.begin(), der.end() - 1);
  EXPECT_FALSE(decode_signed_key(truncated).ok());
  EXPECT_FALSE(decode_signed_key(*from_hex("3003040100")).ok());      // one field
  EXPECT_FALSE(decode_signed_key(*from_hex("3081030401000400")).ok());  // non-minimal length
}

TEST(TlsCertificate, PublicKeyProtobufMustBeCanonical) {
  auto ok = decode_public_key(*from_hex("080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->first, KeyType::ed25519);
  EXPECT_FALSE(decode_public_key(*from_hex("1220" "00000000000000000000000000000000" "00000000000000000000000000000000" "0801")).ok());
  EXPECT_FALSE(decode_public_key(*from_hex("0881001200")).ok());  // overlong varint
  EXPECT_FALSE(decode_public_key(*from_hex("0805120100")).ok());  // key type 5
}

}  // namespace
}  // namespace codex::net::tls
