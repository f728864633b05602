// Peer ids and Ed25519 keys: libp2p's peer-id test vector, strict parsing,
// signatures, and the PEM key file (mode, atomic creation, refusal of others).
#include "codex/identity.hpp"

#include <sys/stat.h>

#include <fstream>

#include "test_support.hpp"

namespace codex {
namespace {

// libp2p specs, peer-ids/peer-ids.md, "Test vectors": the Ed25519 private key
// protobuf is 08 01 12 40 || seed || public key; the public key protobuf is
// 08 01 12 20 || public key.
const char* kSpecPrivateKeyProtobuf =
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
const char* kSpecPublicKeyProtobuf = "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
// base58btc of 00 24 || that public key protobuf (computed independently).
const char* kSpecPeerId = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";

TEST(PeerId, SpecVectorEd25519) {
  Bytes private_pb = *from_hex(kSpecPrivateKeyProtobuf);
  ASSERT_EQ(private_pb.size(), 4u + 64u);
  ByteView seed(private_pb.data() + 4, 32);
  ByteView expected_public(private_pb.data() + 36, 32);
  auto key = Ed25519Key::from_seed(seed);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->public_key(), Bytes(expected_public.begin(), expected_public.end()));
  EXPECT_EQ(to_hex(ed25519_public_key_protobuf(key->public_key())), kSpecPublicKeyProtobuf);
  PeerId id = key->peer_id();
  EXPECT_EQ(to_hex(id.bytes()), std::string("0024") + kSpecPublicKeyProtobuf);
  EXPECT_EQ(id.to_string(), kSpecPeerId);
  EXPECT_EQ(id.to_string().rfind("12D3KooW", 0), 0u);
  auto parsed = PeerId::parse(kSpecPeerId);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, id);
  EXPECT_EQ(*parsed->ed25519_public_key(), key->public_key());
}

TEST(PeerId, SpecExampleTextParses) {
  // The example Ed25519 peer id in the text of the peer-id spec.
  auto id = PeerId::parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->to_string(), "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  EXPECT_EQ(id->ed25519_public_key()->size(), 32u);
}

TEST(PeerId, RefusesOtherForms) {
  // A sha2-256 peer id (RSA and other large keys): not a member's.
  EXPECT_FALSE(PeerId::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").ok());
  EXPECT_FALSE(PeerId::parse("").ok());
  EXPECT_FALSE(PeerId::parse("12D3KooW0OIl").ok());  // not base58
  EXPECT_FALSE(PeerId::parse(std::string(500, '1')).ok());
  Bytes good = *from_hex(std::string("0024") + kSpecPublicKeyProtobuf);
  EXPECT_TRUE(PeerId::from_bytes(good).ok());
  Bytes truncated(good.begin(), good.end() - 1);
  EXPECT_FALSE(PeerId::from_bytes(truncated).ok());
  Bytes wrong_type = good;
  wrong_type[3] = 0x02;  // secp256k1
  EXPECT_FALSE(PeerId::from_bytes(wrong_type).ok());
  Bytes long_one = good;
  long_one.push_back(0);
  EXPECT_FALSE(PeerId::from_bytes(long_one).ok());
  EXPECT_FALSE(PeerId::from_ed25519_public_key(Bytes(31)).ok());
}

TEST(Ed25519Key, SignAndVerify) {
  auto key = Ed25519Key::generate();
  ASSERT_TRUE(key.ok());
  auto other = Ed25519Key::generate();
  ASSERT_TRUE(other.ok());
  EXPECT_NE(key->public_key(), other->public_key());
  Bytes message = {1, 2, 3};
  Bytes signature = key->sign(message);
  ASSERT_EQ(signature.size(), 64u);
  EXPECT_TRUE(ed25519_verify(key->public_key(), message, signature));
  EXPECT_FALSE(ed25519_verify(other->public_key(), message, signature));
  Bytes altered = message;
  altered[0] ^= 1;
  EXPECT_FALSE(ed25519_verify(key->public_key(), altered, signature));
  signature[10] ^= 0x40;
  EXPECT_FALSE(ed25519_verify(key->public_key(), message, signature));
  EXPECT_FALSE(ed25519_verify(key->public_key(), message, Bytes(63)));
}

TEST(Ed25519Key, PemFileRoundTripAndMode) {
  testing::TempDir dir;
  auto file = std::filesystem::path(dir.path()) / "node.key";
  auto made = Ed25519Key::load_or_create(file);
  ASSERT_TRUE(made.ok()) << made.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(file.string() + ".tmp"));
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "-----BEGIN PRIVATE KEY-----");  // PKCS#8, as openssl genpkey writes
  auto again = Ed25519Key::load_or_create(file);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->peer_id(), made->peer_id());
}

TEST(Ed25519Key, RefusesBadKeyFiles) {
  testing::TempDir dir;
  auto file = std::filesystem::path(dir.path()) / "bad.key";
  EXPECT_EQ(Ed25519Key::load_pem(file).error().code, Errc::not_found);
  {
    std::ofstream out(file);
    out << "not a key\n";
  }
  ::chmod(file.c_str(), 0600);
  EXPECT_EQ(Ed25519Key::load_pem(file).error().code, Errc::corrupt);
  auto key = Ed25519Key::generate();
  ASSERT_TRUE(key->save_pem(file).ok());
  ::chmod(file.c_str(), 0644);
  auto open = Ed25519Key::load_pem(file);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("chmod 600"), std::string::npos);
}

}  // namespace
}  // namespace codex
