// Codex's block-exchange message (/codex/blockexc/1.0.0), field for field as
// nim-codex's encoder writes it (docs/block-exchange.md): wantlists asking
// for blocks or for presence, block deliveries (with the CodexTree proof of a
// dataset leaf), and presences. Decoding is strict and bounded by Limits, so
// a peer's frame costs at most what the limits allow; checking a delivery
// against its CID and proof is verify_delivery(), which the daemon calls on
// every block before anything else touches it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/cid.hpp"
#include "codex/error.hpp"
#include "codex/sha256.hpp"

namespace codex::daemon::blockexc {

inline constexpr std::string_view kProtocolId = "/codex/blockexc/1.0.0";

struct Limits {
  std::size_t max_wantlist_entries = 1000;
  std::size_t max_presences = 1000;
  std::size_t max_deliveries = 1024;
  std::size_t max_block_size = 4u << 20;
  std::size_t max_proof_path = 64;      // a tree of 2^64 leaves needs no more
  std::size_t max_price_size = 32;      // a UInt256
};

// A block by CID, or a dataset leaf by tree CID and index.
struct BlockAddress {
  bool leaf = false;
  Cid tree_cid;              // leaf only
  std::uint64_t index = 0;   // leaf only
  Cid cid;                   // not leaf

  static BlockAddress of_cid(Cid cid) { return {false, {}, 0, std::move(cid)}; }
  static BlockAddress of_leaf(Cid tree, std::uint64_t index) { return {true, std::move(tree), index, {}}; }
  bool operator==(const BlockAddress&) const = default;
};

enum class WantType : std::uint8_t { block = 0, have = 1 };

struct WantEntry {
  BlockAddress address;
  std::int32_t priority = 0;
  bool cancel = false;
  WantType want_type = WantType::block;
  bool send_dont_have = false;
  bool operator==(const WantEntry&) const = default;
};

struct Wantlist {
  std::vector<WantEntry> entries;
  bool full = false;
  bool operator==(const Wantlist&) const = default;
};

// CodexTree inclusion proof of a leaf (nim-codex's CodexProof encoding).
struct LeafProof {
  std::uint64_t mcodec = 0x12;   // sha2-256
  std::uint64_t index = 0;
  std::uint64_t leaf_count = 0;
  std::vector<Digest> path;
  bool operator==(const LeafProof&) const = default;
};

struct BlockDelivery {
  Cid cid;
  Bytes data;
  BlockAddress address;
  std::optional<LeafProof> proof;  // present for leaf addresses
  bool operator==(const BlockDelivery&) const = default;
};

enum class PresenceType : std::uint8_t { have = 0, dont_have = 1 };

struct BlockPresence {
  BlockAddress address;
  PresenceType type = PresenceType::have;
  Bytes price;
  bool operator==(const BlockPresence&) const = default;
};

struct Message {
  Wantlist wantlist;
  std::vector<BlockDelivery> payload;
  std::vector<BlockPresence> presences;
  std::uint64_t pending_bytes = 0;
  bool operator==(const Message&) const = default;
};

Bytes encode(const Message& message);
// Errc::corrupt naming the field and byte offset for anything malformed or
// over the limits. Fields 6 (account) and 7 (payment) are skipped.
Result<Message> decode(ByteView bytes, const Limits& limits = {});

// The digests of the CID-addressed blocks a reply says it does not have
// (dontHave presences; leaf addresses and non-sha2-256 CIDs left out).
std::vector<Digest> dont_have_digests(const Message& reply);

// The check every received block passes before it is stored, used or passed
// on: the data hashes to the CID's sha2-256 digest, the CID is the address's
// (for a CID address), and for a leaf the proof puts sha256(data) at the
// address's index under the tree CID's root. Errc::rejected naming what failed.
Status verify_delivery(const BlockDelivery& delivery);
// The same check for every delivery of a message, the first failure
// returned; the blocks are hashed two at a time (sha256_each), which costs
// less than one after the other.
Status verify_deliveries(std::span<const BlockDelivery> deliveries);

}  // namespace codex::daemon::blockexc
