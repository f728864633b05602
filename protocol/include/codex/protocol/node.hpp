// One member's protocol state machine: membership and failure detection
// (SWIM with Lifeguard, admission by certificate), placement of slots by XOR
// distance, heartbeats carrying storage proofs, audits, and repair decisions.
// Sans-I/O: it is fed peer messages, timer ticks and local facts with the
// current time, and appends messages to send and actions to do to an Output.
// It never reads a clock, opens a socket, starts a thread or draws global
// randomness: randomness comes from the seed it is given, so the same inputs
// give the same outputs, bit for bit; what a peer must not predict
// (heartbeat nonces, audit challenges, which proofs get checked) comes from
// the `secrets` source when one is given (the daemon: the OS's CSPRNG). docs/protocol.md is its specification.
//
// Who drives it: the daemon (real sockets and clock, Ed25519, libcore proofs)
// and the simulator (virtual network and clock, possibly stand-in crypto).
// Contract for drivers:
//   - `from` in on_message is the authenticated sender (TLS peer id);
//   - call on_tick no later than next_deadline() (earlier is harmless);
//   - `now` never decreases across calls.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/protocol/config.hpp"
#include "codex/protocol/crypto.hpp"
#include "codex/protocol/directory.hpp"
#include "codex/protocol/events.hpp"
#include "codex/protocol/types.hpp"

namespace codex {
class Random;
}

namespace codex::protocol {

// This node's own identity as others will see it.
struct SelfIdentity {
  MemberId id{};
  Bytes certificate;             // the community's membership certificate for id
  std::vector<Bytes> addresses;  // opaque to the core (the daemon puts binary multiaddrs)
  // Where this life's heartbeat sequence numbers and incarnation start. A
  // restarted member's must exceed its last life's (watchers refuse older
  // heartbeats as replays; a dead record is overridden only by a newer
  // incarnation): the daemon passes clock readings, the simulator zero.
  std::uint64_t first_heartbeat_seq = 0;
  std::uint32_t first_incarnation = 0;
};

// A member to contact when joining.
struct Contact {
  MemberId id{};
  std::vector<Bytes> addresses;
};

struct MemberView {
  MemberId id{};
  MemberStatus status = MemberStatus::alive;
  std::uint32_t incarnation = 0;
  std::vector<Bytes> addresses;
};

enum class SlotHealth : std::uint8_t {
  pending = 1,    // assigned, the holder has not yet shown it holds it
  held = 2,       // heartbeats with good proofs arrive
  suspect = 3,    // heartbeats missed, not yet lost
  lost = 4,       // lost in this node's view (own evidence)
  confirmed = 5,  // lost and confirmed by enough watchers: repair may start
  repairing = 6,  // a claimant is rebuilding it
};
const char* slot_health_name(SlotHealth health);

struct SlotView {
  std::uint32_t slot = 0;
  std::optional<MemberId> holder;
  SlotHealth health = SlotHealth::pending;
  Time last_heard = 0;  // the holder's last credited heartbeat (or when the slot was assigned)
  Time last_proof = 0;  // its last storage proof checked good here (0: none yet)
};

struct DatasetView {
  DatasetDescriptor dataset;
  std::optional<std::uint32_t> own_slot;  // the slot this node holds or is getting
  bool own_slot_stored = false;
  std::vector<SlotView> slots;             // empty for a plain dataset
};

// Counters for reports (messages and bytes per member per second, refusals).
struct NodeStats {
  std::uint64_t messages_sent = 0, bytes_sent = 0;
  std::uint64_t messages_received = 0, bytes_received = 0;
  std::uint64_t refused = 0;            // malformed, forged, replayed, stale, non-member
  std::uint64_t refused_signature = 0;  // of which: bad signature
  std::uint64_t refused_replay = 0;     // of which: sequence not newer
  std::uint64_t refused_non_member = 0; // of which: sender not an admitted member
  std::uint64_t probes = 0, indirect_probes = 0;
  std::uint64_t suspicions_raised = 0, refutations = 0, deaths_declared = 0;
  std::uint64_t heartbeats_sent = 0, heartbeats_accepted = 0;
  std::uint64_t proofs_checked = 0, proofs_failed = 0;
  std::uint64_t audits_sent = 0, audits_failed = 0;
  std::uint64_t losses_confirmed = 0;
  std::uint64_t repairs_claimed = 0, repairs_cancelled = 0, repairs_finished = 0;
  std::uint64_t claims_expired = 0;  // own claims whose rebuild never reported within repair_timeout
  std::uint64_t syncs = 0;
  std::uint64_t wakeups = 0;  // ticks that found this node had not run for a probe interval or more (asleep)
};

class Node {
 public:
  // `directory` may be shared between nodes driven by one thread (simulator);
  // nullptr gives the node its own. `secrets` (codex/random.hpp) gives what a
  // peer must not predict: heartbeat nonces, audit challenges and the draw of
  // which received proofs are checked; a node facing real peers passes
  // system_random(), since a seeded generator's output can be reconstructed
  // from the nonces it sends. nullptr (simulator, tests) draws them from the
  // seed, so a run repeats bit for bit. It must outlive the node.
  Node(const Config& config, SelfIdentity self, Crypto& crypto, ProofSystem& proofs,
       std::uint64_t seed, std::shared_ptr<MemberDirectory> directory = nullptr, Random* secrets = nullptr);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Start membership: announce ourselves to `seeds` and ask one for its full
  // view. With no seeds this node founds the community (alone until others join).
  void join(Time now, std::span<const Contact> seeds, Output& out);
  // Announce a graceful departure (members mark us left, our slots get repaired).
  void leave(Time now, Output& out);
  // Take `members` as alive, without messages, at the incarnation of the
  // newest alive record of each that the directory holds (records enter the
  // directory only once a node has checked their signature and certificate:
  // a view the daemon kept across a restart, or the simulator's established
  // community). Members without such a record, with an expired certificate,
  // revoked or already known are skipped. Call after join(); returns how
  // many were taken. Emits MemberChanged for each.
  std::size_t restore(Time now, std::span<const MemberId> members, Output& out);

  void on_message(Time now, const MemberId& from, ByteView payload, Output& out);
  void on_tick(Time now, Output& out);
  void on_local(Time now, const LocalEvent& event, Output& out);
  // The latest time on_tick must next be called.
  Time next_deadline() const;
  // A hint, no effect on behaviour: start loading into the cache the state
  // the next call will read (and the view's entry of `peer`, the sender of
  // the next message, if known). A simulator driving thousands of nodes
  // calls it for the node of its next event while it runs the current one.
  void prefetch(MemberHandle peer = MemberDirectory::kNone) const;

  // Audit `holder` for slot `slot` of `dataset` with a fresh challenge now.
  void audit(Time now, const DatasetId& dataset, std::uint32_t slot, Output& out);

  // --- Read-only views -------------------------------------------------------
  const MemberId& id() const;
  std::vector<MemberView> members() const;  // every member known, any status
  std::size_t live_members() const;         // alive + suspect, self included
  std::optional<MemberStatus> status_of(const MemberId& member) const;
  std::vector<DatasetView> datasets() const;
  std::optional<DatasetView> dataset(const DatasetId& id) const;
  // Where slots of a dataset go in this node's current view (live members,
  // closest by XOR to each slot point, distinct): what a publisher computes.
  // With include_self false, this node is left out (DatasetPublished::place_on_self).
  std::vector<MemberId> placement(const DatasetDescriptor& dataset, bool include_self = true) const;
  const NodeStats& stats() const;
  // Local health (Lifeguard awareness score, 0 = healthy).
  std::uint32_t health_score() const;

  struct Impl;  // the implementation's (protocol/src/node_impl.hpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace codex::protocol
