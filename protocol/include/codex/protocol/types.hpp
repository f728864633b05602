// The nouns every part of the protocol core shares: time, member and dataset
// identities, the status of a member, a dataset's description. Plain values,
// no behaviour beyond ordering, hashing and printing.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>

#include "codex/bytes.hpp"
#include "codex/sha256.hpp"

namespace codex::protocol {

// Milliseconds on the caller's monotonic clock. The core never reads a clock:
// every entry point is handed `now`, and only differences of times matter.
using Time = std::int64_t;
inline constexpr Time kSecond = 1000;
inline constexpr Time kMinute = 60 * kSecond;
inline constexpr Time kHour = 60 * kMinute;
inline constexpr Time kDay = 24 * kHour;
inline constexpr Time kNever = INT64_MAX;

// A member is named by its Ed25519 public key (32 bytes). The libp2p peer id
// is derived from it (identity multihash of the protobuf PublicKey), so the
// daemon converts both ways without a table, and every signature a member
// makes can be checked against its name alone.
using MemberId = std::array<std::uint8_t, 32>;

// A dataset is named by the SHA-256 digest of its manifest block: the
// manifest CID is Cid::from_digest(codec::manifest, id).
using DatasetId = Digest;

// Where a member sits in the placement space: SHA-256 of its libp2p peer id
// bytes (00 24 08 01 12 20 ‖ key), as libp2p's Kademlia keys peers.
Digest member_point(const MemberId& id);
// Where slot `slot` of `dataset` sits: SHA-256(dataset ‖ u32be(slot)).
Digest slot_point(const DatasetId& dataset, std::uint32_t slot);

// Short hex prefixes for logs and tests ("3fa2c1d0").
std::string short_hex(const MemberId& id);

// A member's standing in one node's view (SWIM's states plus admission).
enum class MemberStatus : std::uint8_t {
  alive = 1,
  suspect = 2,
  dead = 3,     // declared failed; may come back with a higher incarnation
  left = 4,     // announced its own departure
  revoked = 5,  // the owner revoked its certificate: never a member again
};
const char* member_status_name(MemberStatus status);
// Alive and suspect members count for placement and probing.
inline bool is_live(MemberStatus status) {
  return status == MemberStatus::alive || status == MemberStatus::suspect;
}

// What the core needs to know of a dataset: its identity and erasure shape.
// A plain dataset (k = 1, m = 0, plain = true) is held by whoever chooses to
// keep it and is never placed, watched or repaired.
struct DatasetDescriptor {
  DatasetId id{};
  std::uint8_t k = 1;
  std::uint8_t m = 0;
  std::uint8_t l0 = 1;  // lazy repair: repair once this many slots are lost
  bool plain = false;
  std::uint32_t slots() const { return std::uint32_t(k) + m; }
  friend bool operator==(const DatasetDescriptor&, const DatasetDescriptor&) = default;
};

}  // namespace codex::protocol

template <>
struct std::hash<codex::protocol::MemberId> {
  std::size_t operator()(const codex::protocol::MemberId& id) const noexcept {
    std::size_t h = 0;
    for (int i = 0; i < 8; ++i) h = h << 8 | id[i];
    return h;
  }
};
