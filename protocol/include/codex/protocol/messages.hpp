// The protocol's messages and their one binary encoding (docs/protocol.md,
// "Wire format", has the byte-level layout and worked examples that
// tests/protocol/wire_test.cpp checks). Every message is
//   version (u8 = 1) ‖ type (u8) ‖ body
// with unsigned integers as minimal LEB128 varints, member and dataset ids as
// 32 raw bytes, byte strings and lists as varint count ‖ items. Decoding is
// strict: unknown version or type, truncation, non-minimal varints, bounds
// exceeded and trailing bytes are all refused with Errc::corrupt naming the
// field. Signed messages are signed over their own encoding up to the
// signature field, so the type byte separates domains.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/protocol/types.hpp"

namespace codex::protocol {

inline constexpr std::uint8_t kWireVersion = 1;

enum class MessageType : std::uint8_t {
  ping = 0x01,
  ack = 0x02,
  ping_req = 0x03,
  nack = 0x04,
  gossip = 0x05,
  sync_request = 0x06,
  sync_state = 0x07,
  heartbeat = 0x10,
  audit = 0x11,
  audit_reply = 0x12,
  assign = 0x13,
  loss_report = 0x14,
  repair_request = 0x15,
  claim = 0x16,
  dataset_view = 0x17,
};
const char* message_type_name(MessageType type);

// --- Membership records (piggybacked on membership messages) ----------------

enum class UpdateKind : std::uint8_t { alive = 1, suspect = 2, dead = 3, left = 4, revocation = 5 };

// One membership fact. Which fields are meaningful depends on kind:
//   alive:      member, incarnation, addresses, certificate, signature (by member)
//   suspect:    member, incarnation, accuser
//   dead:       member, incarnation, accuser
//   left:       member, incarnation, signature (by member)
//   revocation: revocation (the owner-signed bytes)
struct Update {
  UpdateKind kind = UpdateKind::alive;
  MemberId member{};
  std::uint32_t incarnation = 0;
  MemberId accuser{};
  std::vector<Bytes> addresses;
  Bytes certificate;
  Bytes signature;
  Bytes revocation;
  friend bool operator==(const Update&, const Update&) = default;
};
// The bytes a member signs for its alive or left record.
Bytes alive_signing_bytes(const Update& update);

struct Ping {
  std::uint64_t seq = 0;
  MemberId target{};  // whom the sender means to probe (refuse if not us)
  std::vector<Update> updates;
  friend bool operator==(const Ping&, const Ping&) = default;
};
struct Ack {
  std::uint64_t seq = 0;
  std::vector<Update> updates;
  friend bool operator==(const Ack&, const Ack&) = default;
};
struct PingReq {
  std::uint64_t seq = 0;
  MemberId target{};
  std::vector<Update> updates;
  friend bool operator==(const PingReq&, const PingReq&) = default;
};
struct Nack {
  std::uint64_t seq = 0;
  std::vector<Update> updates;
  friend bool operator==(const Nack&, const Nack&) = default;
};
struct Gossip {
  std::vector<Update> updates;
  friend bool operator==(const Gossip&, const Gossip&) = default;
};
// Anti-entropy: the sender's digest of each bucket of its membership view
// (empty: "send me everything", used when joining, when `updates` carries
// the joiner's own alive record).
struct SyncRequest {
  std::vector<std::uint64_t> digests;
  std::uint64_t revocations_digest = 0;
  std::vector<Update> updates;
  friend bool operator==(const SyncRequest&, const SyncRequest&) = default;
};
// Records of the buckets that differed; `digests` non-empty asks the
// receiver to send back its own records of the buckets that still differ.
struct SyncState {
  std::vector<std::uint64_t> digests;
  std::uint64_t revocations_digest = 0;
  std::vector<Update> updates;
  friend bool operator==(const SyncState&, const SyncState&) = default;
};

// --- Storage: heartbeats, audits, placement, loss and repair ------------------

struct HeartbeatEntry {
  DatasetId dataset{};
  std::uint32_t slot = 0;
  std::uint64_t view_digest = 0;  // digest of the holder's view of the dataset's holders
  friend bool operator==(const HeartbeatEntry&, const HeartbeatEntry&) = default;
};
struct HeartbeatProof {
  DatasetId dataset{};
  std::uint32_t slot = 0;
  Bytes nonce;  // the recipient's nonce the challenge was derived from
  Bytes proof;
  friend bool operator==(const HeartbeatProof&, const HeartbeatProof&) = default;
};
// One holder's signed heartbeat to one watcher: the slots of datasets they
// share that it holds, and proofs for the sample the watcher's last nonce picks.
struct Heartbeat {
  MemberId holder{};
  MemberId recipient{};
  std::uint64_t seq = 0;  // strictly increasing per holder
  Bytes nonce;            // fresh: the recipient derives its next challenges from it
  std::vector<HeartbeatEntry> entries;
  std::vector<HeartbeatProof> proofs;
  Bytes signature;        // by holder, over the encoding up to this field
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};
struct Audit {
  std::uint64_t seq = 0;
  DatasetId dataset{};
  std::uint32_t slot = 0;
  Bytes challenge;  // 32 fresh bytes
  friend bool operator==(const Audit&, const Audit&) = default;
};
// Signed, so that a failed audit is evidence others can check.
struct AuditReply {
  MemberId holder{};
  MemberId auditor{};
  std::uint64_t seq = 0;
  DatasetId dataset{};
  std::uint32_t slot = 0;
  Bytes challenge;
  bool held = false;  // false: the holder says it does not have the slot
  Bytes proof;
  Bytes signature;  // by holder
  friend bool operator==(const AuditReply&, const AuditReply&) = default;
};
// "Hold slot `slot` of this dataset" from its publisher (or a holder handing
// over to a closer joiner): fetch it from the listed holders.
struct Assign {
  DatasetDescriptor dataset;
  std::uint32_t slot = 0;
  std::vector<std::optional<MemberId>> holders;  // index = slot
  friend bool operator==(const Assign&, const Assign&) = default;
};
enum class LossReason : std::uint8_t {
  missed_heartbeats = 1,
  member_failed = 2,  // SWIM declared the holder dead, or it left
  audit_failed = 3,
  holder_reported = 4,  // the holder itself said the slot is damaged
};
// A watcher's statement that slot `slot`, held by `holder`, is lost.
struct LossReport {
  DatasetId dataset{};
  std::uint32_t slot = 0;
  MemberId holder{};
  LossReason reason = LossReason::missed_heartbeats;
  friend bool operator==(const LossReport&, const LossReport&) = default;
};
// "You rank `rank` to rebuild lost slot `slot`"; holders as the sender sees
// them, the slot's epoch in the sender's view and the holder it found lost
// (docs/protocol.md, "Slot epochs": a view naming that holder "held" at a
// lower epoch predates the loss).
struct RepairRequest {
  DatasetDescriptor dataset;
  std::uint32_t slot = 0;
  std::uint32_t rank = 0;
  std::vector<std::optional<MemberId>> holders;
  std::uint32_t epoch = 0;
  std::optional<MemberId> lost;  // the slot's last holder, found lost (absent: not known)
  friend bool operator==(const RepairRequest&, const RepairRequest&) = default;
};
// The sender claims (or, withdraw = true, gives up) slot `slot`. Claims are
// ordered by XOR distance of the claimant's point to the slot point, then by
// member id: the smallest wins everywhere without a vote.
struct Claim {
  DatasetId dataset{};
  std::uint32_t slot = 0;
  bool withdraw = false;
  friend bool operator==(const Claim&, const Claim&) = default;
};
// A watcher's whole view of one dataset's holders, sent when view digests differ.
struct DatasetViewMessage {
  DatasetDescriptor dataset;
  std::vector<std::optional<MemberId>> holders;
  std::vector<std::uint8_t> health;  // SlotHealth per slot
  std::vector<std::uint32_t> epochs; // per slot: how many losses of it the sender knows of
  friend bool operator==(const DatasetViewMessage&, const DatasetViewMessage&) = default;
};

using Message = std::variant<Ping, Ack, PingReq, Nack, Gossip, SyncRequest, SyncState, Heartbeat,
                             Audit, AuditReply, Assign, LossReport, RepairRequest, Claim,
                             DatasetViewMessage>;

MessageType type_of(const Message& message);
Bytes encode(const Message& message);
// `max_list` bounds every list and byte string count.
Result<Message> decode(ByteView bytes, std::uint32_t max_list = 65536);

// The bytes a signature covers in an encoded signed message (Heartbeat,
// AuditReply): everything before the signature field.
Bytes heartbeat_signing_bytes(const Heartbeat& heartbeat);
Bytes audit_reply_signing_bytes(const AuditReply& reply);
// A signed message's encoding from those bytes and its signature (its last
// field): the same bytes as encode(), without encoding the message twice.
Bytes append_signature(Bytes signing_bytes, ByteView signature);
// The bytes the signature covers in a received encoding whose last field is
// `signature` (what decode() read): the payload without that field. Decoding
// is strict (minimal varints, no trailing bytes), so these are the bytes
// heartbeat_signing_bytes() would rebuild from the decoded message.
ByteView signed_part(ByteView payload, ByteView signature);

}  // namespace codex::protocol
