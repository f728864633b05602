// The wire format: docs/protocol.md's examples, byte for byte, both ways;
// round trips of every message; strict refusal of malformed input.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "codex/protocol/messages.hpp"

namespace codex::protocol {
namespace {

std::array<std::uint8_t, 32> filled(std::uint8_t b) {
  std::array<std::uint8_t, 32> a;
  a.fill(b);
  return a;
}

// Examples in the spec: a "<!-- example NAME -->" line, then a ``` block of hex.
std::map<std::string, Bytes> spec_examples() {
  std::ifstream in(std::string(CODEX_SOURCE_DIR) + "/docs/protocol.md");
  std::map<std::string, Bytes> out;
  std::string line, name, hex;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (line.rfind("<!-- example ", 0) == 0) {
      name = line.substr(13, line.find(" -->") - 13);
      continue;
    }
    if (line.rfind("```", 0) == 0 && !name.empty()) {
      if (in_block) {
        auto bytes = from_hex(hex);
        EXPECT_TRUE(bytes.has_value()) << "example " << name << " is not hex";
        if (bytes) out[name] = *bytes;
        name.clear();
        hex.clear();
      }
      in_block = !in_block;
      continue;
    }
    if (in_block)
      for (char c : line)
        if (!std::isspace(static_cast<unsigned char>(c))) hex.push_back(c);
  }
  return out;
}

std::map<std::string, Message> expected_examples() {
  std::map<std::string, Message> m;
  m["ping"] = Ping{1, filled(0x11), {}};
  m["ack-suspect"] = Ack{300, {Update{UpdateKind::suspect, filled(0x22), 7, filled(0x33), {}, {}, {}, {}}}};
  m["claim"] = Claim{filled(0x44), 5, false};
  m["loss-report"] = LossReport{filled(0x44), 2, filled(0x55), LossReason::member_failed};
  m["repair-request"] = RepairRequest{DatasetDescriptor{filled(0x44), 2, 1, 1, false}, 1, 0,
                                      {filled(0x66), std::nullopt, filled(0x77)}, 3, filled(0x55)};
  m["dataset-view"] = DatasetViewMessage{DatasetDescriptor{filled(0x44), 2, 1, 1, false},
                                         {filled(0x66), filled(0x55), filled(0x77)},
                                         {2, 5, 2},
                                         {0, 300, 1}};
  Update alive{UpdateKind::alive, filled(0x88), 0, {}, {Bytes{0x04, 0x7f, 0, 0, 1}}, Bytes{0xc0, 0xde}, Bytes{0x5a, 0x5a}, {}};
  m["sync-join"] = SyncRequest{{}, 0, {alive}};
  Heartbeat hb;
  hb.holder = filled(0x11);
  hb.recipient = filled(0x22);
  hb.seq = 9;
  hb.nonce = {1, 2, 3, 4};
  hb.entries = {HeartbeatEntry{filled(0x44), 3, 0x0102030405060708ull}};
  hb.proofs = {HeartbeatProof{filled(0x44), 3, Bytes{0x0a, 0x0b}, Bytes{0xff}}};
  hb.signature = {0x99, 0x99};
  m["heartbeat"] = hb;
  return m;
}

TEST(Wire, SpecExamples) {
  auto spec = spec_examples();
  auto expected = expected_examples();
  EXPECT_EQ(spec.size(), expected.size()) << "examples in docs/protocol.md vs in this test";
  for (const auto& [name, message] : expected) {
    ASSERT_TRUE(spec.count(name)) << "docs/protocol.md lacks example " << name;
    EXPECT_EQ(to_hex(encode(message)), to_hex(spec[name])) << "example " << name;
    auto decoded = decode(spec[name]);
    ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, message) << "example " << name;
  }
}

TEST(Wire, SignatureIsTheLastFieldOfASignedMessage) {
  // A signed heartbeat is its signing bytes followed by the signature field,
  // and a receiver finds the signed bytes again in what it received.
  auto examples = expected_examples();
  const Heartbeat& hb = std::get<Heartbeat>(examples["heartbeat"]);
  const Bytes encoded = encode(hb);
  const Bytes signing = heartbeat_signing_bytes(hb);
  EXPECT_EQ(append_signature(signing, hb.signature), encoded);
  ByteView part = signed_part(encoded, hb.signature);
  EXPECT_TRUE(std::equal(part.begin(), part.end(), signing.begin(), signing.end()));
  Heartbeat longer = hb;
  longer.signature = Bytes(200, 0x5a);  // a two-byte length prefix
  const Bytes encoded_longer = encode(longer);
  EXPECT_EQ(append_signature(heartbeat_signing_bytes(longer), longer.signature), encoded_longer);
  part = signed_part(encoded_longer, longer.signature);
  EXPECT_EQ(part.size(), signing.size());
  EXPECT_TRUE(std::equal(part.begin(), part.end(), signing.begin(), signing.end()));
  EXPECT_TRUE(signed_part(ByteView(encoded).first(10), longer.signature).empty());  // shorter than the field
}

TEST(Wire, RoundTripsEveryType) {
  DatasetDescriptor d{filled(9), 4, 2, 1, false};
  std::vector<std::optional<MemberId>> holders{filled(1), std::nullopt, filled(3), filled(4), filled(5), filled(6)};
  std::vector<Message> all = {
      Ping{7, filled(1), {Update{UpdateKind::dead, filled(2), 3, filled(4), {}, {}, {}, {}}}},
      Ack{8, {}},
      PingReq{9, filled(1), {Update{UpdateKind::left, filled(2), 3, {}, {}, {}, Bytes{1, 2}, {}}}},
      Nack{10, {Update{UpdateKind::revocation, {}, 0, {}, {}, {}, {}, Bytes{7, 7, 7}}}},
      Gossip{{}},
      SyncRequest{{1, 2, 3}, 99, {}},
      SyncState{{4, 5}, 6, {}},
      Audit{1, filled(2), 3, Bytes(32, 4)},
      AuditReply{filled(1), filled(2), 3, filled(4), 5, Bytes(32, 6), true, Bytes{7}, Bytes{8}},
      Assign{d, 2, holders},
      Claim{filled(3), 1, true},
      DatasetViewMessage{d, holders, {2, 4, 2, 2, 6, 1}, {0, 1, 127, 128, 70000, UINT32_MAX}},
      RepairRequest{d, 1, 2, holders, 9, filled(2)},
      RepairRequest{d, 1, 2, holders, 0, std::nullopt},
  };
  for (const auto& m : all) {
    Bytes b = encode(m);
    auto back = decode(b);
    ASSERT_TRUE(back.ok()) << message_type_name(type_of(m)) << ": " << back.error().message;
    EXPECT_EQ(*back, m) << message_type_name(type_of(m));
    // Every strict prefix is refused, and so is one trailing byte.
    for (std::size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(decode(ByteView(b).first(n)).ok()) << n;
    Bytes longer = b;
    longer.push_back(0);
    EXPECT_FALSE(decode(longer).ok());
  }
}

TEST(Wire, RefusesMalformed) {
  Bytes ping = encode(Ping{1, filled(1), {}});
  Bytes v2 = ping;
  v2[0] = 2;
  auto r = decode(v2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("version"), std::string::npos);
  Bytes unknown = ping;
  unknown[1] = 0x30;
  EXPECT_FALSE(decode(unknown).ok());
  // Non-minimal varint seq (0x81 0x00 for 1).
  Bytes overlong = {1, 1, 0x81, 0x00};
  auto id = filled(1);
  overlong.insert(overlong.end(), id.begin(), id.end());
  overlong.push_back(0);
  EXPECT_FALSE(decode(overlong).ok());
  // A holders list that does not match K+M, a slot out of range, a bad l0.
  DatasetDescriptor d{filled(9), 2, 1, 1, false};
  Bytes assign = encode(Assign{d, 0, {filled(1), filled(2), filled(3)}});
  EXPECT_TRUE(decode(assign).ok());
  EXPECT_FALSE(decode(encode(Assign{d, 3, {filled(1), filled(2), filled(3)}})).ok());
  EXPECT_FALSE(decode(encode(Assign{d, 0, {filled(1), filled(2)}})).ok());
  EXPECT_FALSE(decode(encode(Assign{DatasetDescriptor{filled(9), 2, 1, 2, false}, 0, {filled(1), filled(2), filled(3)}})).ok());
  // A view's epochs: exactly K+M of them, each below 2^32.
  DatasetViewMessage view{d, {filled(1), std::nullopt, filled(3)}, {2, 5, 2}, {0, 1, 0}};
  EXPECT_TRUE(decode(encode(view)).ok());
  view.epochs = {0, 1};
  EXPECT_FALSE(decode(encode(view)).ok());
  view.epochs = {0, 1, 0};
  Bytes big = encode(view);
  big.pop_back();
  for (std::uint8_t b : {0x80, 0x80, 0x80, 0x80, 0x10}) big.push_back(b);  // 2^32
  auto too_big = decode(big);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message.find("epoch"), std::string::npos) << too_big.error().message;
  // A list count larger than the bytes left.
  Bytes gossip = {1, 5, 0xff, 0x7f};
  EXPECT_FALSE(decode(gossip).ok());
  // An unknown update kind.
  EXPECT_FALSE(decode(Bytes{1, 5, 1, 9}).ok());
}

}  // namespace
}  // namespace codex::protocol
