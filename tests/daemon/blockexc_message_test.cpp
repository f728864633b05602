// Block-exchange messages: nim-codex's exact bytes for a small message, round
// trips, the decoder's bounds, and the delivery check (CID and leaf proof).
#include "codex/daemon/blockexc_message.hpp"

#include <gtest/gtest.h>

#include <random>
#include <span>

#include "codex/codex_tree.hpp"
#include "codex/varint.hpp"

namespace codex::daemon::blockexc {
namespace {

Bytes block_of(std::uint8_t fill, std::size_t size = 100) { return Bytes(size, fill); }

TEST(BlockexcMessage, EmptyMessageBytesAsNimWritesThem) {
  // wantlist {full: 0}, pendingBytes 0, account {address: ""}, payment {update: ""}.
  EXPECT_EQ(to_hex(encode(Message{})), "0a021000280032020a003a020a00");
}

TEST(BlockexcMessage, WantHaveEntryBytes) {
  Bytes data = block_of(1);
  Cid cid = block_cid(data);
  Message m;
  m.wantlist.entries.push_back({BlockAddress::of_cid(cid), 0, false, WantType::have, true});
  Bytes bytes = encode(m);
  // entry: address {leaf 0, cid}, priority 0, cancel 0, wantType 1, sendDontHave 1
  std::string address = "0800" "22" + fmt::format("{:02x}", cid.bytes().size()) + to_hex(cid.bytes());
  std::string entry = "0a" + fmt::format("{:02x}", address.size() / 2) + address + "1000" "1800" "2001" "2801";
  std::string wantlist = "0a" + fmt::format("{:02x}", entry.size() / 2) + entry + "1000";
  EXPECT_EQ(to_hex(bytes), "0a" + fmt::format("{:02x}", wantlist.size() / 2) + wantlist + "280032020a003a020a00");
  auto back = decode(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
}

TEST(BlockexcMessage, RoundTripEverything) {
  std::vector<Digest> leaves;
  std::vector<Bytes> blocks;
  for (int i = 0; i < 5; ++i) {
    blocks.push_back(block_of(static_cast<std::uint8_t>(i + 1)));
    leaves.push_back(sha256(blocks.back()));
  }
  auto tree = *CodexTree::build(leaves);
  Cid tree_cid = Cid::from_digest(codec::root, tree.root());
  Message m;
  m.wantlist.full = true;
  m.wantlist.entries.push_back({BlockAddress::of_leaf(tree_cid, 3), 7, true, WantType::block, false});
  BlockDelivery d{block_cid(blocks[3]), blocks[3], BlockAddress::of_leaf(tree_cid, 3),
                  LeafProof{0x12, 3, 5, *tree.proof(3)}};
  m.payload.push_back(d);
  m.payload.push_back({block_cid(blocks[0]), blocks[0], BlockAddress::of_cid(block_cid(blocks[0])), std::nullopt});
  m.presences.push_back({BlockAddress::of_cid(block_cid(blocks[1])), PresenceType::dont_have, {}});
  m.pending_bytes = 12345;
  Bytes bytes = encode(m);
  auto back = decode(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
  EXPECT_EQ(encode(*back), bytes);
  EXPECT_TRUE(verify_delivery(back->payload[0]).ok());
  EXPECT_TRUE(verify_delivery(back->payload[1]).ok());
}

// verify_deliveries hashes two at a time (equal sizes) and one at a time
// otherwise; its verdict is verify_delivery's for every delivery, wherever
// the bad one sits (first or second of a pair, alone at the end, past the
// first chunk of 64).
TEST(BlockexcMessage, VerifyDeliveriesAgreesWithVerifyDelivery) {
  std::vector<BlockDelivery> all;
  for (int i = 0; i < 70; ++i) {
    Bytes data = block_of(static_cast<std::uint8_t>(i), i % 7 == 3 ? 77 : 4096);
    all.push_back({block_cid(data), data, BlockAddress::of_cid(block_cid(data)), std::nullopt});
  }
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{64},
                        std::size_t{65}, std::size_t{70}}) {
    std::span<const BlockDelivery> some(all.data(), n);
    EXPECT_TRUE(verify_deliveries(some).ok()) << n;
    for (std::size_t bad = 0; bad < n; ++bad) {
      std::vector<BlockDelivery> copy(some.begin(), some.end());
      copy[bad].data[copy[bad].data.size() / 2] ^= 0x80;
      auto verdict = verify_deliveries(copy);
      ASSERT_FALSE(verdict.ok()) << n << " " << bad;
      EXPECT_EQ(verdict.error().code, Errc::rejected);
      EXPECT_EQ(verdict.error().message, verify_delivery(copy[bad]).error().message);
    }
  }
  // A delivery whose CID is not its address's fails there too, not only bad bytes.
  std::vector<BlockDelivery> swapped(all.begin(), all.begin() + 4);
  swapped[3].address = all[2].address;
  EXPECT_EQ(verify_deliveries(swapped).error().code, Errc::rejected);
}

TEST(BlockexcMessage, DeliveryChecks) {
  std::vector<Digest> leaves;
  std::vector<Bytes> blocks;
  for (int i = 0; i < 4; ++i) {
    blocks.push_back(block_of(static_cast<std::uint8_t>(i + 10)));
    leaves.push_back(sha256(blocks.back()));
  }
  auto tree = *CodexTree::build(leaves);
  Cid tree_cid = Cid::from_digest(codec::root, tree.root());
  BlockDelivery good{block_cid(blocks[2]), blocks[2], BlockAddress::of_leaf(tree_cid, 2),
                     LeafProof{0x12, 2, 4, *tree.proof(2)}};
  ASSERT_TRUE(verify_delivery(good).ok());

  auto wrong_data = good;
  wrong_data.data[0] ^= 1;
  EXPECT_EQ(verify_delivery(wrong_data).error().code, Errc::rejected);
  auto other_block = good;  // a real block with its own CID, claimed to be leaf 2
  other_block.cid = block_cid(blocks[1]);
  other_block.data = blocks[1];
  EXPECT_EQ(verify_delivery(other_block).error().code, Errc::rejected);
  auto no_proof = good;
  no_proof.proof.reset();
  EXPECT_EQ(verify_delivery(no_proof).error().code, Errc::rejected);
  auto bad_path = good;
  bad_path.proof->path[0][0] ^= 1;
  EXPECT_EQ(verify_delivery(bad_path).error().code, Errc::rejected);
  auto wrong_index = good;
  wrong_index.proof->index = 1;
  EXPECT_EQ(verify_delivery(wrong_index).error().code, Errc::rejected);

  BlockDelivery by_cid{block_cid(blocks[0]), blocks[0], BlockAddress::of_cid(block_cid(blocks[0])), std::nullopt};
  EXPECT_TRUE(verify_delivery(by_cid).ok());
  by_cid.address = BlockAddress::of_cid(block_cid(blocks[1]));
  EXPECT_EQ(verify_delivery(by_cid).error().code, Errc::rejected);
}

TEST(BlockexcMessage, DecoderBounds) {
  Limits limits;
  limits.max_wantlist_entries = 3;
  Message m;
  for (int i = 0; i < 4; ++i)
    m.wantlist.entries.push_back({BlockAddress::of_cid(block_cid(block_of(static_cast<std::uint8_t>(i)))), 0,
                                  false, WantType::have, false});
  auto r = decode(encode(m), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::corrupt);
  EXPECT_NE(r.error().message.find("entries"), std::string::npos);

  Limits small;
  small.max_block_size = 10;
  Message big;
  Bytes data = block_of(1, 11);
  big.payload.push_back({block_cid(data), data, BlockAddress::of_cid(block_cid(data)), std::nullopt});
  EXPECT_FALSE(decode(encode(big), small).ok());
}

TEST(BlockexcMessage, RefusesMalformed) {
  Bytes good = encode(Message{});
  // Truncated anywhere: an error, never a crash.
  for (std::size_t n = 1; n < good.size(); ++n) {
    auto r = decode(ByteView(good).first(n));
    if (r.ok()) continue;  // a prefix can be a complete shorter message
    EXPECT_EQ(r.error().code, Errc::corrupt);
  }
  EXPECT_FALSE(decode(*from_hex("0a")).ok());
  EXPECT_FALSE(decode(*from_hex("0a0210020a0210002800")).ok());  // full = 2, then wantlist twice
  EXPECT_FALSE(decode(*from_hex("0f")).ok());                     // wire type 7
  // An entry with no address.
  EXPECT_FALSE(decode(*from_hex("0a040a021001")).ok());
  // A delivery whose cid is not a CID.
  EXPECT_FALSE(decode(*from_hex("1a040a020102")).ok());
}

}  // namespace
}  // namespace codex::daemon::blockexc

namespace codex::daemon::blockexc {
namespace {

// The decoder on mutated valid messages (bit flips, truncations, spliced
// bytes): every outcome is a message or Errc::corrupt, never a crash, and a
// decoded message re-encodes within the limits. (fuzz/blockexc_fuzz.cpp runs
// the same decoder under libFuzzer.)
TEST(BlockexcMessage, SurvivesMutations) {
  std::mt19937_64 rng(12345);
  Message m;
  Bytes data(3000, 7);
  std::vector<Digest> leaves(3, sha256(data));
  auto tree = *CodexTree::build(leaves);
  Cid tree_cid = Cid::from_digest(codec::root, tree.root());
  m.wantlist.entries.push_back({BlockAddress::of_leaf(tree_cid, 1), 1, false, WantType::block, true});
  m.wantlist.entries.push_back({BlockAddress::of_cid(block_cid(data)), 0, true, WantType::have, false});
  m.payload.push_back({block_cid(data), data, BlockAddress::of_leaf(tree_cid, 1), LeafProof{0x12, 1, 3, *tree.proof(1)}});
  m.presences.push_back({BlockAddress::of_cid(block_cid(data)), PresenceType::have, {1, 2}});
  const Bytes good = encode(m);
  for (int round = 0; round < 20000; ++round) {
    Bytes b = good;
    switch (rng() % 3) {
      case 0:
        for (int k = 0, n = 1 + rng() % 4; k < n; ++k) b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1: b.resize(rng() % b.size()); break;
      case 2: {
        std::size_t at = rng() % b.size();
        for (int k = 0, n = 1 + rng() % 8; k < n; ++k) b.insert(b.begin() + at, static_cast<std::uint8_t>(rng()));
        break;
      }
    }
    auto r = decode(b);
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::corrupt);
      continue;
    }
    EXPECT_LE(r->wantlist.entries.size(), Limits{}.max_wantlist_entries);
    for (const auto& d : r->payload) (void)verify_delivery(d);
  }
}

}  // namespace
}  // namespace codex::daemon::blockexc
