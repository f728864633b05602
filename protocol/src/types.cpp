// Points in the placement space, and names of enumerations for people.
#include "codex/protocol/types.hpp"

#include "codex/protocol/node.hpp"

namespace codex::protocol {

Digest member_point(const MemberId& id) {
  // The libp2p peer id bytes: identity multihash of the protobuf PublicKey.
  std::uint8_t bytes[38] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
  std::copy(id.begin(), id.end(), bytes + 6);
  return sha256(ByteView(bytes, sizeof bytes));
}

Digest slot_point(const DatasetId& dataset, std::uint32_t slot) {
  std::uint8_t bytes[36];
  std::copy(dataset.begin(), dataset.end(), bytes);
  bytes[32] = std::uint8_t(slot >> 24);
  bytes[33] = std::uint8_t(slot >> 16);
  bytes[34] = std::uint8_t(slot >> 8);
  bytes[35] = std::uint8_t(slot);
  return sha256(ByteView(bytes, sizeof bytes));
}

std::string short_hex(const MemberId& id) { return to_hex(ByteView(id.data(), 4)); }

const char* member_status_name(MemberStatus status) {
  switch (status) {
    case MemberStatus::alive: return "alive";
    case MemberStatus::suspect: return "suspect";
    case MemberStatus::dead: return "dead";
    case MemberStatus::left: return "left";
    case MemberStatus::revoked: return "revoked";
  }
  return "unknown";
}

const char* slot_health_name(SlotHealth health) {
  switch (health) {
    case SlotHealth::pending: return "pending";
    case SlotHealth::held: return "held";
    case SlotHealth::suspect: return "suspect";
    case SlotHealth::lost: return "lost";
    case SlotHealth::confirmed: return "confirmed";
    case SlotHealth::repairing: return "repairing";
  }
  return "unknown";
}

}  // namespace codex::protocol
