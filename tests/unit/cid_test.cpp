// CIDs and multibase: the vectors' CIDs, the two text forms, and refusals of
// CIDv0, bad multihashes, bad characters and unknown multibases.
#include "codex/cid.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <unordered_set>

namespace codex {
namespace {

nlohmann::json load_vectors() {
  std::ifstream in(std::string(CODEX_TEST_DATA) + "/codex-vectors.json");
  return nlohmann::json::parse(in);
}

Cid must_parse(std::string_view text) {
  auto cid = Cid::parse(text);
  EXPECT_TRUE(cid) << text << ": " << (cid ? "" : cid.error().message);
  return cid ? *cid : Cid{};
}

// Fails with Errc::corrupt and a message containing `reason`.
template <class T>
void expect_error(const Result<T>& result, std::string_view reason) {
  ASSERT_FALSE(result) << "expected an error mentioning \"" << reason << "\"";
  EXPECT_EQ(result.error().code, Errc::corrupt);
  EXPECT_NE(result.error().message.find(reason), std::string::npos) << result.error().message;
}

// The textbook base58 (one digit at a time) to check the limb version against.
std::string reference_base58(ByteView bytes) {
  static const char* alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  std::vector<int> digits;  // little-endian base 58
  for (std::uint8_t byte : bytes) {
    int carry = byte;
    for (int& d : digits) {
      carry += d * 256;
      d = carry % 58;
      carry /= 58;
    }
    while (carry) {
      digits.push_back(carry % 58);
      carry /= 58;
    }
  }
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && bytes[i] == 0; ++i) out.push_back('1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(alphabet[*it]);
  return out;
}

TEST(Multibase, Base58KnownValues) {
  EXPECT_EQ(base58btc_encode(as_bytes("")), "");
  EXPECT_EQ(base58btc_encode(Bytes{0}), "1");
  EXPECT_EQ(base58btc_encode(Bytes{0, 0, 1}), "112");
  EXPECT_EQ(base58btc_encode(as_bytes("hello world")), "StV1DL6CwTryKyV");
  EXPECT_EQ(base58btc_encode(Bytes{0xff, 0xff, 0xff, 0xff}), "7YXq9G");
  auto decoded = base58btc_decode("StV1DL6CwTryKyV");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, Bytes(as_bytes("hello world").begin(), as_bytes("hello world").end()));
  auto zeros = base58btc_decode("112");
  ASSERT_TRUE(zeros);
  EXPECT_EQ(*zeros, (Bytes{0, 0, 1}));
  auto empty = base58btc_decode("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(Multibase, Base58MatchesReferenceOnRandomInput) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    Bytes bytes(rng() % 70);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    for (std::size_t i = 0; i < bytes.size() && rng() % 4 == 0; ++i) bytes[i] = 0;  // leading zeros
    const std::string text = base58btc_encode(bytes);
    ASSERT_EQ(text, reference_base58(bytes)) << to_hex(bytes);
    auto back = base58btc_decode(text);
    ASSERT_TRUE(back);
    ASSERT_EQ(*back, bytes) << text;
  }
}

TEST(Multibase, Base32KnownValuesAndRoundTrip) {
  EXPECT_EQ(base32_encode(as_bytes("hello world")), "nbswy3dpeb3w64tmmq");
  EXPECT_EQ(base32_encode(as_bytes("")), "");
  std::mt19937 rng(11);
  for (int round = 0; round < 500; ++round) {
    Bytes bytes(rng() % 50);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    auto back = base32_decode(base32_encode(bytes));
    ASSERT_TRUE(back);
    ASSERT_EQ(*back, bytes);
  }
}

TEST(Multibase, RefusesBadText) {
  expect_error(base58btc_decode("abc0"), "invalid base58btc character '0' at position 3");
  expect_error(base58btc_decode("Il"), "invalid base58btc character 'I' at position 0");
  expect_error(base58btc_decode("ab\ncd"), "byte 0x0a at position 2");
  expect_error(base32_decode("NBSWY3DP"), "invalid base32 character 'N' at position 0");
  expect_error(base32_decode("nbswy3d="), "invalid base32 character '=' at position 7");
  expect_error(base32_decode("nbswy3"), "does not encode whole bytes");
  expect_error(base32_decode("nbswy3d"), "non-zero padding bits at position 6");  // 'd' = 00011: "hell" + 011
  expect_error(base32_decode("a"), "does not encode whole bytes");
  expect_error(base32_decode("nb"), "non-zero padding bits");  // "nb" = 01101 00001: the last bit is set
  EXPECT_TRUE(base32_decode("na"));
}

TEST(Cid, EmptyBlockCidMatchesVector) {
  const auto vectors = load_vectors();
  EXPECT_EQ(empty_block_cid().to_string(), vectors["empty_block_cid"]["cid"].get<std::string>());
  EXPECT_EQ(empty_block_cid(), block_cid(ByteView{}));
  EXPECT_EQ(empty_block_cid().codec(), codec::block);
  EXPECT_EQ(to_hex(*empty_block_cid().sha256_digest()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Cid, VectorCidsRoundTripInBothBases) {
  const auto vectors = load_vectors();
  std::vector<std::string> texts;
  for (const auto& [name, entry] : vectors.items()) {
    if (name.rfind("dataset_", 0) != 0) continue;
    texts.push_back(entry["tree_cid"]);
    texts.push_back(entry["manifest_A_cid"]);
    texts.push_back(entry["manifest_B_cid"]);
    for (const auto& block : entry["block_cids"]) texts.push_back(block);
  }
  ASSERT_GE(texts.size(), 20u);
  for (const std::string& text : texts) {
    const Cid cid = must_parse(text);
    EXPECT_TRUE(cid.valid());
    EXPECT_EQ(cid.to_string(), text);
    EXPECT_EQ(cid.hash_code(), multihash_code::sha2_256);
    EXPECT_EQ(cid.digest().size(), 32u);
    const Cid again = must_parse("b" + base32_encode(cid.bytes()));
    EXPECT_EQ(again, cid) << text;
    EXPECT_EQ(Cid::from_digest(cid.codec(), *cid.sha256_digest()), cid);
  }
}

TEST(Cid, CodecsOfVectorCids) {
  const auto vectors = load_vectors();
  const auto& hello = vectors["dataset_hello"];
  EXPECT_EQ(must_parse(hello["tree_cid"].get<std::string>()).codec(), codec::root);
  EXPECT_EQ(must_parse(hello["manifest_A_cid"].get<std::string>()).codec(), codec::manifest);
  EXPECT_EQ(must_parse(hello["block_cids"][0].get<std::string>()).codec(), codec::block);
  EXPECT_EQ(to_hex(*must_parse(hello["tree_cid"].get<std::string>()).sha256_digest()),
            hello["tree_root_hex"].get<std::string>());
}

TEST(Cid, ReadTakesAPrefixFromBytesTakesAll) {
  const Cid cid = empty_block_cid();
  Bytes two = cid.bytes();
  two.insert(two.end(), cid.bytes().begin(), cid.bytes().end());
  std::size_t pos = 0;
  auto first = Cid::read(two, pos);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, cid);
  EXPECT_EQ(pos, cid.bytes().size());
  auto second = Cid::read(two, pos);
  ASSERT_TRUE(second);
  EXPECT_EQ(pos, two.size());
  expect_error(Cid::from_bytes(two), "followed by 38 unexpected bytes");
  auto exact = Cid::from_bytes(cid.bytes());
  ASSERT_TRUE(exact);
  EXPECT_EQ(*exact, cid);
}

TEST(Cid, RefusesCidV0) {
  expect_error(Cid::parse("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"), "CIDv0");
  Bytes v0 = {0x12, 0x20};
  v0.resize(34, 0xab);
  expect_error(Cid::from_bytes(v0), "CIDv0 is not supported");
}

TEST(Cid, RefusesBadBinary) {
  const Digest digest = sha256(as_bytes("x"));
  Bytes good = Cid::from_digest(codec::block, digest).bytes();  // 01 829a03 12 20 digest
  ASSERT_EQ(good.size(), 38u);
  expect_error(Cid::from_bytes({}), "CID is empty");

  Bytes v2 = good;
  v2[0] = 0x02;
  expect_error(Cid::from_bytes(v2), "CID version 2");
  Bytes v0 = good;
  v0[0] = 0x00;
  expect_error(Cid::from_bytes(v0), "CID version 0");

  Bytes short_length = good;
  short_length[5] = 31;
  short_length.pop_back();
  expect_error(Cid::from_bytes(short_length), "digest length is 31 (expected 32)");

  Bytes truncated(good.begin(), good.end() - 1);
  expect_error(Cid::from_bytes(truncated), "truncated");
  for (std::size_t cut = 0; cut < good.size(); ++cut)
    EXPECT_FALSE(Cid::from_bytes(ByteView(good).first(cut))) << "prefix of " << cut << " bytes";

  Bytes nonminimal = {0x01, 0x80, 0x00, 0x12, 0x20};  // codec 0 written in two bytes
  nonminimal.insert(nonminimal.end(), digest.begin(), digest.end());
  expect_error(Cid::from_bytes(nonminimal), "not minimally encoded");

  // Other multihashes are kept, with their length checked against the data.
  Bytes identity = {0x01, 0x55, 0x00, 0x03, 'a', 'b', 'c'};
  auto inline_cid = Cid::from_bytes(identity);
  ASSERT_TRUE(inline_cid);
  EXPECT_EQ(inline_cid->hash_code(), multihash_code::identity);
  EXPECT_EQ(inline_cid->digest().size(), 3u);
  EXPECT_FALSE(inline_cid->sha256_digest());
  identity[3] = 4;
  expect_error(Cid::from_bytes(identity), "truncated");
}

// CIDs are bounded: an identity digest of at most kMaxIdentityDigest bytes,
// no hash but sha2-256 and identity; the longest CID's text reads back.
TEST(Cid, IsBoundedAndPrintsWhatItReads) {
  Bytes largest = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00, kMaxIdentityDigest};
  largest.resize(largest.size() + kMaxIdentityDigest, 0xab);
  auto cid = Cid::from_bytes(largest);
  ASSERT_TRUE(cid) << cid.error().message;
  EXPECT_LE(cid->bytes().size(), kMaxCidBytes);
  auto back = Cid::parse(cid->to_string());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, *cid);

  Bytes too_long = {0x01, 0x55, 0x00, kMaxIdentityDigest + 1};
  too_long.resize(too_long.size() + kMaxIdentityDigest + 1, 0xab);
  expect_error(Cid::from_bytes(too_long), "identity with a 65-byte digest");
  // A 16 MiB identity CID is refused from its length alone.
  Bytes huge = {0x01, 0x55, 0x00, 0x80, 0x80, 0x80, 0x08};
  expect_error(Cid::from_bytes(huge), "identity with a 16777216-byte digest");
  Bytes other = {0x01, 0x55, 0x13, 0x40};  // sha2-512
  other.resize(other.size() + 64, 1);
  expect_error(Cid::from_bytes(other), "multihash 0x13 is not supported");
}

TEST(Cid, RefusesBadText) {
  const std::string good = empty_block_cid().to_string();
  expect_error(Cid::parse(""), "CID text is empty");
  expect_error(Cid::parse("z"), "'z' is not a valid CID");
  expect_error(Cid::parse("f0155"), "unsupported multibase prefix 'f'");
  expect_error(Cid::parse("B" + base32_encode(empty_block_cid().bytes())), "unsupported multibase prefix 'B'");
  expect_error(Cid::parse("\x01zzz"), "unsupported multibase prefix byte 0x01");
  std::string bad = good;
  bad[10] = '0';
  expect_error(Cid::parse(bad), "invalid base58btc character '0' at position 10");
  bad = good;
  bad[5] = 'l';
  expect_error(Cid::parse(bad), "invalid base58btc character 'l' at position 5");
  expect_error(Cid::parse(good + " "), "invalid base58btc character ' '");
  std::string upper = "b" + base32_encode(empty_block_cid().bytes());
  upper[3] = 'A';
  expect_error(Cid::parse(upper), "invalid base32 character 'A' at position 3");
  // Cutting base58 text changes the whole number: its bytes mean nothing, and
  // the message says it is not a CID rather than name a version they would spell.
  expect_error(Cid::parse(good.substr(0, good.size() - 3)), "is not a valid CID (mistyped or cut short?)");
  EXPECT_EQ(Cid::parse(good.substr(0, good.size() - 3)).error().message.find("version"), std::string::npos);
  expect_error(Cid::parse(good + "x"), "is not a valid CID");
  expect_error(Cid::parse("z" + std::string(2000, '2')), "too long");
  // Text of a valid CID followed by more bytes.
  Bytes longer = empty_block_cid().bytes();
  longer.push_back(0);
  expect_error(Cid::parse("z" + base58btc_encode(longer)), "is not a valid CID");
}

TEST(Cid, HashAndOrder) {
  std::unordered_set<Cid> set;
  for (int i = 0; i < 100; ++i) set.insert(block_cid(as_bytes(std::to_string(i))));
  set.insert(block_cid(as_bytes("7")));
  EXPECT_EQ(set.size(), 100u);
  EXPECT_TRUE(set.count(block_cid(as_bytes("42"))));
  EXPECT_EQ(std::hash<Cid>{}(empty_block_cid()), std::hash<Cid>{}(block_cid(ByteView{})));
  EXPECT_FALSE(Cid{}.valid());
  const Cid a = Cid::from_digest(codec::block, Digest{});
  const Cid b = Cid::from_digest(codec::root, Digest{});
  EXPECT_TRUE(a < b);  // ordered by bytes: the codec varint comes first
}

TEST(Cid, CodecNames) {
  EXPECT_EQ(codec_name(codec::manifest), "codex-manifest");
  EXPECT_EQ(codec_name(codec::block), "codex-block");
  EXPECT_EQ(codec_name(codec::root), "codex-root");
  EXPECT_EQ(codec_name(codec::slot_root), "codex-slot-root");
  EXPECT_EQ(codec_name(codec::proving_root), "codex-proving-root");
  EXPECT_EQ(codec_name(codec::slot_cell), "codex-slot-cell");
  EXPECT_EQ(codec_name(codec::raw), "raw");
  EXPECT_EQ(codec_name(multihash_code::sha2_256), "sha2-256");
  EXPECT_EQ(codec_name(0xabcdef), "0xabcdef");
}

}  // namespace
}  // namespace codex
