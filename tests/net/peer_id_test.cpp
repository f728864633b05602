// The Ed25519 vector of libp2p's peer-id spec, as the transport uses it: the
// private key's seed gives the listed public key, whose protobuf gives the
// peer id that a certificate extension and a /p2p multiaddr carry.
#include <gtest/gtest.h>

#include "codex/identity.hpp"
#include "codex/net/multiaddr.hpp"
#include "codex/net/tls_certificate.hpp"

namespace codex::net {
namespace {

// peer-ids/peer-ids.md, "Test vectors": ED25519 private key (protobuf:
// 08 01 12 40 || seed || public key) and public key (08 01 12 20 || key).
constexpr const char* kPrivate =
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
    "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
constexpr const char* kPublic = "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";

TEST(PeerIdVector, SeedGivesThePublicKeyAndPeerId) {
  Bytes priv = *from_hex(kPrivate);
  ByteView seed(priv.data() + 4, 32);
  auto key = Ed25519Key::from_seed(seed);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(to_hex(ed25519_public_key_protobuf(key->public_key())), kPublic);
  auto decoded = tls::decode_public_key(*from_hex(kPublic));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->second, key->public_key());
  // Identity multihash of the 36-byte protobuf.
  EXPECT_EQ(to_hex(key->peer_id().bytes()), std::string("0024") + kPublic);
  EXPECT_EQ(key->peer_id().to_string().substr(0, 8), "12D3KooW");
  // The certificate we make for it proves that peer id.
  auto cert = tls::make_certificate(*key, 1764547200);
  ASSERT_TRUE(cert.ok());
  auto id = tls::verify_certificate(cert->der(), 1764547200);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->peer_id, key->peer_id().bytes());
}

}  // namespace
}  // namespace codex::net
