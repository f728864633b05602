// The Node's private state, shared by the files that implement its parts:
// node.cpp (entry points, views), membership.cpp (SWIM, Lifeguard, admission,
// anti-entropy) and storage.cpp (placement, heartbeats, audits, loss, repair).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "codex/protocol/messages.hpp"
#include "codex/protocol/node.hpp"
#include "codex/protocol/placement.hpp"

namespace codex::protocol {

// One member in this node's view: 8 bytes, so 10,000 views of 10,000 fit.
struct MemberEntry {
  std::uint32_t incarnation = 0;
  std::uint8_t status = 0;  // 0: unknown, else MemberStatus
  // 1 + index of its heartbeat state in Impl::peer_states (0: none), kept
  // in what would be padding: found with the entry, no table to search.
  std::uint8_t peer_hi = 0;
  std::uint16_t peer_lo = 0;
  std::uint32_t peer() const { return std::uint32_t(peer_hi) << 16 | peer_lo; }
  void set_peer(std::uint32_t v) {
    peer_hi = std::uint8_t(v >> 16);
    peer_lo = std::uint16_t(v);
  }
};
static_assert(sizeof(MemberEntry) == 8);

// Lexicographic order of digests, as std::less but by 64-bit words (a
// member looks a dataset up for every heartbeat entry it receives).
struct DigestLess {
  static std::uint64_t word(const Digest& d, std::size_t i) {
    std::uint64_t v = 0;
    for (std::size_t j = 0; j < 8; ++j) v = v << 8 | d[i * 8 + j];
    return v;
  }
  bool operator()(const Digest& a, const Digest& b) const {
    for (std::size_t i = 0; i < 4; ++i) {
      std::uint64_t x = word(a, i), y = word(b, i);
      if (x != y) return x < y;
    }
    return false;
  }
};

// Hash of a dataset id for this node's table of datasets, keyed per node
// (dataset ids come from peers: a keyed hash keeps them from choosing ids
// that collide). A member looks its datasets up for every heartbeat entry:
// a hash table costs one or two cache misses where a tree costs a dozen.
// Iteration order is the table's, which depends only on the key and the
// sequence of insertions, never on addresses: runs still repeat bit for bit.
struct DatasetHash {
  std::array<std::uint64_t, 4> keys{1, 3, 5, 7};  // odd multipliers
  std::size_t operator()(const Digest& d) const {
    std::uint64_t h = 0;
    for (std::size_t i = 0; i < 4; ++i) h += (DigestLess::word(d, i) ^ keys[i]) * (keys[(i + 1) % 4] | 1);
    return std::size_t(h ^ (h >> 29));
  }
};

struct PendingProbe {
  std::uint64_t seq = 0;
  MemberHandle target = MemberDirectory::kNone;
  Time direct_deadline = 0;
  Time indirect_deadline = 0;
  bool indirect_sent = false;
  std::uint32_t expected_nacks = 0;
  std::uint32_t nacks = 0;
};

// A ping we send on another member's behalf (PingReq).
struct RelayedProbe {
  MemberHandle origin = MemberDirectory::kNone;
  std::uint64_t origin_seq = 0;
  Time deadline = 0;
};

struct Suspicion {
  std::uint32_t incarnation = 0;
  Time start = 0;
  Time min_timeout = 0, max_timeout = 0;
  std::uint32_t expected_confirmations = 0;
  std::vector<MemberHandle> accusers;  // distinct; the first does not count as a confirmation
  Time deadline() const { return cached_deadline; }
  void update_deadline();  // after accusers change
  Time cached_deadline = 0;
};


// The fields every heartbeat entry, view digest and sweep reads come first
// (holder, health, former, last_heard, watched_since: the first 32 bytes),
// and the small ones share what was padding (104 bytes, was 112): each of a
// dataset's slots costs about one cache line where these were spread over
// two (sweep() and view_digest() read every slot of every dataset a member
// holds, cold in the cache at 10,000 members).
struct SlotState {
  MemberHandle holder = MemberDirectory::kNone;
  SlotHealth health = SlotHealth::pending;
  std::uint8_t former_tries = 0;  // views sent to `former` since it came back
  bool restarting = false;        // every candidate tried: round 0 again at the next repair timer
  // The claimant (health repairing) reached its repair deadline without a
  // heartbeat and was audited: at the next deadline it is given up.
  bool claimant_audited = false;
  // The last holder this view found lost. If it comes back (a healed
  // partition), it is shown this view, so that two holders of the slot
  // repaired on both sides of the cut meet and the worse one steps down.
  MemberHandle former = MemberDirectory::kNone;
  // The member that lost this slot to damage (it reported it, or failed a
  // proof or an audit of it): asked to rebuild the slot only after every
  // other member (repair_candidates), since its disk may be failing.
  MemberHandle damaged = MemberDirectory::kNone;
  Time last_heard = 0;                  // last good heartbeat entry from the holder
  // Since when this view counts the holder's heartbeats (it became one of
  // the slot's heartbeat watchers; 0: not one): a watcher that takes over
  // from another is not owed heartbeats sent before it did.
  Time watched_since = 0;
  Time last_proof = 0;                  // last storage proof of it checked good (0: none yet)
  Time repair_deadline = 0;             // when a repairing/confirmed slot is re-requested
  std::uint32_t repair_round = 0;
  // How many losses of this slot this view knows of (docs/protocol.md, "Slot
  // epochs"): raised when this view finds the slot's holder or claimant
  // lost, and by facts it adopts from newer views. A view naming as holder
  // the member this view found lost, at a lower epoch, predates that loss.
  std::uint32_t epoch = 0;
  std::vector<MemberHandle> reporters;  // watchers that reported the current holder lost
  std::vector<MemberHandle> failed_claimants;
};
static_assert(sizeof(SlotState) <= 104);

struct DatasetState {
  DatasetDescriptor desc;
  std::optional<std::uint32_t> own_slot;
  bool stored = false;        // own slot stored and verified
  bool claimed = false;       // own slot is a repair claim in progress
  bool announced = false;     // own slot's first heartbeat (to every watcher) sent
  // Who assigned us our slot (kNone: a repair, or acknowledged): told by a
  // heartbeat once the slot is stored, if it is not a watcher anyway.
  MemberHandle assigner = MemberDirectory::kNone;
  Time claim_at = kNever;     // scheduled claim (repair candidate backing off by rank)
  Time claim_expires = kNever;  // own claim not reported by then: released (Config::repair_timeout)
  // While we rebuild our slot: a better holder of it named "held" by
  // co-holders, and which of them said so (on_dataset_view steps down once
  // Config::loss_confirmations have).
  MemberHandle rival = MemberDirectory::kNone;
  std::vector<MemberHandle> rival_witnesses;
  std::vector<SlotState> slots;
  // view_digest() remembered with what it was computed from (per slot:
  // holder << 1 | lost): a member sends and checks a digest per heartbeat
  // entry, and views change far less often than that.
  mutable std::vector<std::uint64_t> digest_of;
  mutable std::uint64_t digest = 0;
  // holder_circle() remembered with what it was computed from: a hash of
  // the slots' (holder, confirmed) and the node's live_epoch (the liveness
  // of every holder). A member sweeps each of its datasets four times per
  // heartbeat interval, and each holder's liveness is a lookup in a
  // membership view that is cold in the cache.
  mutable std::vector<MemberHandle> circle;
  mutable std::uint64_t circle_of = 0;
  mutable std::uint64_t circle_epoch = 0;  // 0: not computed
};

// A heartbeat nonce kept inline (a member keeps three per co-holder, and
// has hundreds of co-holders): up to 16 bytes, as this core makes them.
struct Nonce {
  std::array<std::uint8_t, 16> bytes{};
  std::uint8_t size = 0;
  bool empty() const { return size == 0; }
  ByteView view() const { return ByteView(bytes.data(), size); }
  Bytes to_bytes() const { return Bytes(bytes.begin(), bytes.begin() + size); }
  // Longer nonces are not kept (the core makes 16-byte ones): then none.
  void assign(ByteView b) {
    size = b.size() <= bytes.size() ? std::uint8_t(b.size()) : 0;
    std::copy_n(b.begin(), size, bytes.begin());
  }
  bool equals(ByteView b) const { return size > 0 && b.size() == size && std::equal(b.begin(), b.end(), bytes.begin()); }
};

// Heartbeat bookkeeping with one co-holder, both directions.
struct PeerHeartbeat {
  Nonce their_nonce;               // the last nonce it gave us: our next challenges
  Nonce my_nonce, my_old_nonce;    // the nonces we gave it (current, previous)
  std::uint64_t last_seq = 0;      // highest heartbeat sequence accepted from it
};

// Slots this node assigned as a publisher that their holders have not yet
// acknowledged with a heartbeat: the Assign is re-sent until they do.
struct PendingAssign {
  DatasetDescriptor desc;
  std::vector<std::optional<MemberId>> holders;  // as assigned, index = slot
  std::vector<MemberHandle> awaiting;            // per slot: the holder not yet heard from, or kNone
  std::uint32_t tries = 0;
  Time next = 0;
};

struct PendingAudit {
  DatasetId dataset{};
  std::uint32_t slot = 0;
  MemberHandle holder = MemberDirectory::kNone;
  Bytes challenge;
  Time deadline = 0;
  bool rival = false;  // auditing a better member that claims our own slot
  // Auditing a claimant that has not heartbeated by its repair deadline: a
  // proof makes it the slot's holder; no proof gives it up (not damage).
  bool claimant = false;
  // A check of our holder prompted by a newer view naming this member
  // instead (docs/protocol.md, Slot epochs, rule 3): if ours cannot prove
  // the slot, this one takes its place, as if adopted from that view.
  MemberHandle successor = MemberDirectory::kNone;
};

// A member's datasets: an unordered_map (its iteration order is the one the
// core has always used, so runs repeat as before) with a flat index beside
// it for lookups. A member looks a dataset up for every heartbeat entry it
// receives; through the map's buckets that is four to six cache misses (the
// bucket, the node before, and two lines of each node on the chain), through
// the index two (its slot, and the node whose key it confirms). The index
// holds map iterators: rebuilt whenever the map rehashes, the one entry
// removed on erase (which leaves the other iterators valid).
class DatasetMap {
 public:
  using Map = std::unordered_map<DatasetId, DatasetState, DatasetHash>;
  using iterator = Map::iterator;
  using const_iterator = Map::const_iterator;
  // A node of the map: the next pointer, the key and state, the cached hash.
  static constexpr std::size_t kNodeBytes = sizeof(Map::value_type) + 2 * sizeof(void*);

  DatasetMap() = default;
  DatasetMap(std::size_t buckets, const DatasetHash& hash) : map_(buckets, hash) { rebuild(); }

  iterator begin() { return map_.begin(); }
  iterator end() { return map_.end(); }
  const_iterator begin() const { return map_.begin(); }
  const_iterator end() const { return map_.end(); }
  std::size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }

  iterator find(const DatasetId& id) {
    const std::size_t at = slot_of(id, map_.hash_function()(id));
    return index_[at].used ? index_[at].it : map_.end();
  }
  const_iterator find(const DatasetId& id) const { return const_cast<DatasetMap*>(this)->find(id); }
  std::size_t count(const DatasetId& id) const { return find(id) != end() ? 1 : 0; }
  // A hint: start loading the node of dataset `id`, if the index (itself
  // not read beyond its slots) has it. A heartbeat names its datasets; the
  // receiver looks each up after decoding, admission and the signature, and
  // the node arrives meanwhile instead of being waited for.
  void prefetch(const DatasetId& id) const {
    const std::size_t hash = map_.hash_function()(id);
    const std::size_t mask = index_.size() - 1;
    for (std::size_t i = hash & mask, probes = 0; probes < 4; i = (i + 1) & mask, ++probes) {
      const Slot& s = index_[i];
      if (!s.used) return;
      if (s.hash == hash) {
        const char* p = reinterpret_cast<const char*>(&*s.it) - sizeof(void*);
        for (std::size_t at = 0; at < kNodeBytes; at += 64) __builtin_prefetch(p + at);
        return;
      }
    }
  }
  // The same for the dataset's slots, view digest inputs and holder circle
  // (its node must be loaded: after prefetch(id)).
  static void prefetch_parts(const DatasetState& d) {
    const char* slots = reinterpret_cast<const char*>(d.slots.data());
    for (std::size_t at = 0; at < d.slots.size() * sizeof(SlotState); at += 64) __builtin_prefetch(slots + at);
    __builtin_prefetch(d.digest_of.data());
    __builtin_prefetch(d.circle.data());
  }
  // Calls f(DatasetState&) for every dataset, in the map's order, with the
  // memory it will read loaded ahead: first every node at once (through the
  // flat index, so the loads overlap instead of following the chain one
  // cache miss at a time), then each dataset's slots, view digest inputs
  // and holder circle two datasets ahead. At 10,000 members a member's
  // datasets are cold in the cache when it sweeps them (four times per
  // heartbeat interval) or heartbeats them: sweep() spent ~80% of its time
  // waiting for the node and its slots. Measured on the 10,000-member run:
  // see docs/simulator.md, "Prefetching". f must not insert or erase.
  template <class F>
  void for_each_prefetched(F&& f) {
    for (const Slot& s : index_)
      if (s.used) {
        const char* p = reinterpret_cast<const char*>(&*s.it) - sizeof(void*);
        for (std::size_t at = 0; at < kNodeBytes; at += 64) __builtin_prefetch(p + at);
      }
    std::vector<DatasetState*> order;
    order.reserve(map_.size());
    for (auto& [id, d] : map_) order.push_back(&d);
    constexpr std::size_t kAhead = 2;
    for (std::size_t i = 0; i < order.size() && i < kAhead; ++i) prefetch_parts(*order[i]);
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (i + kAhead < order.size()) prefetch_parts(*order[i + kAhead]);
      f(*order[i]);
    }
  }
  DatasetState& operator[](const DatasetId& id) {
    const std::size_t buckets = map_.bucket_count();
    auto [it, inserted] = map_.try_emplace(id);
    if (inserted) {
      if (map_.bucket_count() != buckets || (map_.size() + 1) * 2 > index_.size()) rebuild();
      else place(it);
    }
    return it->second;
  }
  iterator erase(iterator it) {
    unplace(slot_of(it->first, map_.hash_function()(it->first)));
    return map_.erase(it);
  }
  std::size_t erase(const DatasetId& id) {
    auto it = find(id);
    if (it == end()) return 0;
    erase(it);
    return 1;
  }

 private:
  struct Slot {
    std::size_t hash = 0;
    iterator it{};
    bool used = false;
  };
  // Where `id` is, or the empty slot where it would go (linear probing).
  std::size_t slot_of(const DatasetId& id, std::size_t hash) const {
    const std::size_t mask = index_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = index_[i];
      if (!s.used || (s.hash == hash && s.it->first == id)) return i;
    }
  }
  void place(iterator it) {
    const std::size_t hash = map_.hash_function()(it->first);
    index_[slot_of(it->first, hash)] = Slot{hash, it, true};
  }
  // Backward-shift deletion: no tombstones, lookups stay short.
  void unplace(std::size_t hole) {
    const std::size_t mask = index_.size() - 1;
    index_[hole].used = false;
    for (std::size_t i = (hole + 1) & mask; index_[i].used; i = (i + 1) & mask) {
      const std::size_t home = index_[i].hash & mask;
      // Move it into the hole unless its home lies cyclically in (hole, i].
      const bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
      if (stays) continue;
      index_[hole] = index_[i];
      index_[i].used = false;
      hole = i;
    }
  }
  void rebuild() {
    std::size_t n = 16;
    while (n < (map_.size() + 1) * 4) n *= 2;
    index_.assign(n, Slot{});
    for (auto it = map_.begin(); it != map_.end(); ++it) place(it);
  }
  Map map_;
  std::vector<Slot> index_ = std::vector<Slot>(16);
};

struct Node::Impl {
  Impl(const Config& config, SelfIdentity self, Crypto& crypto, ProofSystem& proofs,
       std::uint64_t seed, std::shared_ptr<MemberDirectory> directory, Random* secrets);

  Config config;
  SelfIdentity self;
  Crypto& crypto;
  ProofSystem& proofs;
  std::mt19937_64 rng;
  Random* secrets = nullptr;  // what peers must not predict; nullptr: rng
  std::shared_ptr<MemberDirectory> directory;
  MemberHandle me = MemberDirectory::kNone;
  NodeStats stats;
  bool joined = false;
  bool departed = false;

  // --- membership ---
  std::vector<MemberEntry> members;  // indexed by handle (grown on demand)
  // Incremented whenever a member (ourselves included) becomes live or stops
  // being live in this view: what DatasetState::circle depends on.
  std::uint64_t live_epoch = 1;
  Ring ring;                         // live members, self included
  std::uint32_t incarnation = 0;
  std::uint32_t awareness = 0;       // Lifeguard local health score
  std::uint64_t next_seq = 1;
  Time next_probe = 0;
  std::optional<PendingProbe> probe;
  std::unordered_map<std::uint64_t, RelayedProbe> relayed;
  std::map<MemberHandle, Suspicion> suspicions;
  mutable Time suspicion_min = kNever;  // earliest suspicion deadline, when !suspicion_dirty
  mutable bool suspicion_dirty = false;
  // Messages from senders we do not know yet (their alive record has not
  // reached us): kept briefly, replayed once the sender is admitted.
  struct Unadmitted {
    MemberHandle from;
    Time at;
    Bytes payload;
  };
  std::vector<Unadmitted> unadmitted;
  std::unordered_map<MemberHandle, Time> asked_unknown;  // when we last asked an unknown sender for its record
  // Updates waiting to be piggybacked, least transmitted first (then oldest),
  // at most one per member (a newer one replaces it), at most
  // kMaxBroadcasts (the most transmitted go first). An entry names its
  // record (member, incarnation, kind, accuser); alive and left records are
  // rebuilt from the directory when sent, so 10,000 nodes' queues hold no
  // certificates. News beyond what the queue holds reaches members by
  // anti-entropy.
  struct QueuedUpdate {
    std::uint32_t transmits = 0;
    std::uint64_t order = 0;
    UpdateKind kind = UpdateKind::alive;
    MemberHandle about = MemberDirectory::kNone;
    std::uint32_t incarnation = 0;
    MemberHandle accuser = MemberDirectory::kNone;
    std::shared_ptr<const Bytes> revocation;  // kind revocation only
    std::uint8_t weight = 1;  // sent weight x retransmit_limit() times (refutations: 2)
  };
  static constexpr std::size_t kMaxBroadcasts = 64;
  std::vector<QueuedUpdate> broadcasts;  // sorted by (transmits, order)
  std::uint64_t broadcast_order = 0;
  // Refutations are retransmitted this many times the usual count
  // (docs/protocol.md, "Dissemination").
  static constexpr std::uint8_t kRefutationWeight = 2;
  static constexpr std::uint32_t kAlivePings = 16;
  std::uint32_t alive_pings_left = 0;  // probes that still carry our alive record
  // When the next dedicated gossip round may go (Config::gossip_interval):
  // news waiting in an idle queue goes at once, then one round per interval
  // while the queue holds any.
  Time next_gossip = 0;
  Time next_sync = 0;
  std::vector<std::uint64_t> bucket_digests;
  std::map<std::pair<MemberId, std::uint64_t>, Bytes> revocations;  // (member, serial) -> bytes
  std::uint64_t revocations_digest = 0;
  std::unordered_map<MemberHandle, Time> cert_expiry;  // only finite expiries
  std::vector<MemberHandle> gone_members;  // dead or left (anti-entropy sends them too)
  std::vector<MemberHandle> dead_members;
  std::vector<MemberHandle> join_seeds;  // asked again while we know nobody  // declared dead: anti-entropy retries them (partition heal)

  // --- storage ---
  DatasetMap datasets;
  // Heartbeat state per co-holder, found through its MemberEntry (peer()).
  std::vector<PeerHeartbeat> peer_states;
  std::vector<std::uint32_t> free_peer_states;
  PeerHeartbeat& peer(MemberHandle h);
  void forget_peer(MemberHandle h);
  std::unordered_map<std::uint64_t, PendingAudit> audits;
  std::uint64_t heartbeat_seq = 0;
  Time next_heartbeat = 0;
  Time next_sweep = 0;
  std::uint32_t active_repairs = 0;
  // Storage timers: (when, dataset, slot, kind); stale ones are checked and skipped.
  enum TimerKind : std::uint8_t { claim_timer = 1, repair_timer = 2, assign_timer = 3, own_claim_timer = 4 };
  std::set<std::tuple<Time, DatasetId, std::uint32_t, std::uint8_t>> timers;
  std::map<DatasetId, PendingAssign, DigestLess> assigning;
  // Slots whose candidacy we gave up to a better claimant, until when
  // further RepairRequests for them are ignored (concede()).
  std::map<std::pair<DatasetId, std::uint32_t>, Time> conceded;
  // Audits we answered, per auditor, in its current window (on_audit).
  struct AuditWindow {
    Time start = 0;
    std::uint32_t answered = 0;
  };
  static constexpr std::uint32_t kAuditsPerWindow = 8;
  std::unordered_map<MemberHandle, AuditWindow> audited_by;
  std::vector<std::pair<DatasetId, std::uint32_t>> unprovable;  // own slots a heartbeat could not prove

  // --- helpers (node.cpp) ---
  std::uint64_t random(std::uint64_t bound);  // uniform in [0, bound)
  Bytes random_bytes(std::size_t n);
  // From `secrets` when given, else the same draws as random/random_bytes.
  std::uint64_t secret_below(std::uint64_t bound);
  Bytes secret_bytes(std::size_t n);
  void send(MemberHandle to, const Message& message, Output& out);
  void send_encoded(MemberHandle to, Bytes payload, Output& out);  // an encoded message
  // The encoding of the message being dispatched (empty outside dispatch):
  // a signature is checked over the bytes received, not over a re-encoding.
  ByteView received_payload;
  MemberEntry& entry(MemberHandle h);
  const MemberEntry* find_entry(MemberHandle h) const;
  bool is_member(MemberHandle h) const;  // admitted and not revoked
  bool is_live(MemberHandle h) const;
  std::size_t live_count() const { return ring.size(); }

  void dispatch(Time now, MemberHandle sender, const Message& message, Output& out);
  void hold_unadmitted(Time now, MemberHandle sender, ByteView payload, Output& out);
  void replay_unadmitted(Time now, Output& out);

  // --- membership (membership.cpp) ---
  void start(Time now, std::span<const Contact> seeds, Output& out);
  void depart(Time now, Output& out);
  void ask_seeds(Output& out);
  Update own_alive() const;
  // Queues `update` for gossip; `weight` multiplies its retransmissions.
  void broadcast(Update update, std::uint8_t weight = 1);
  std::vector<Update> piggyback();
  std::uint32_t retransmit_limit() const;
  // `sync_sender`: the sender of an anti-entropy exchange (a member's whole
  // view, possibly old news from the other side of a healed partition), or
  // kNone for records that ride on other messages.
  void apply_updates(Time now, const std::vector<Update>& updates, Output& out,
                     MemberHandle sync_sender = MemberDirectory::kNone);
  void apply(Time now, const Update& update, Output& out, MemberHandle sync_sender = MemberDirectory::kNone);
  void set_status(Time now, MemberHandle h, MemberStatus status, std::uint32_t incarnation, Output& out);
  void refute(Time now, std::uint32_t accused_incarnation);
  void on_ping(Time now, MemberHandle from, const Ping& m, Output& out);
  void on_ack(Time now, MemberHandle from, const Ack& m, Output& out);
  void on_ping_req(Time now, MemberHandle from, const PingReq& m, Output& out);
  void on_nack(Time now, MemberHandle from, const Nack& m, Output& out);
  void on_sync_request(Time now, MemberHandle from, const SyncRequest& m, Output& out);
  void on_sync_state(Time now, MemberHandle from, const SyncState& m, Output& out);
  void membership_tick(Time now, Output& out);
  // This node did not run for `away` (suspended, stopped, offline): see membership.cpp.
  void woke(Time now, Time away, Output& out);
  void storage_woke(Time now, Time away);
  Time membership_deadline() const;
  Time membership_suspicion_min() const;
  void start_probe(Time now, Output& out);
  void suspect(Time now, MemberHandle h, std::uint32_t incarnation, MemberHandle accuser, Output& out);
  // Lifeguard's buddy system: a message to a member we suspect carries the suspicion.
  void add_suspicion_notice(MemberHandle to, std::vector<Update>& updates) const;
  Time scaled(Time t) const { return t * (1 + Time(awareness)); }
  Time indirect_window() const;  // after the direct probe timed out, how long indirect probes may take
  void adjust_awareness(int delta);
  std::uint64_t record_hash(MemberHandle h, const MemberEntry& e) const;
  std::size_t bucket_of(MemberHandle h) const;
  std::uint64_t own_record_hash() const;
  std::vector<Update> records_of_buckets(const std::vector<bool>& wanted) const;
  std::vector<Update> revocation_records() const;
  MemberHandle random_live_member(MemberHandle exclude);
  bool revoked(const MemberId& member, std::uint64_t serial) const;

  // --- storage (storage.cpp) ---
  void on_local_event(Time now, const LocalEvent& event, Output& out);
  void on_heartbeat(Time now, MemberHandle from, const Heartbeat& m, Output& out);
  void on_audit(Time now, MemberHandle from, const Audit& m, Output& out);
  void on_audit_reply(Time now, MemberHandle from, const AuditReply& m, Output& out);
  void on_assign(Time now, MemberHandle from, const Assign& m, Output& out);
  void on_loss_report(Time now, MemberHandle from, const LossReport& m, Output& out);
  void on_repair_request(Time now, MemberHandle from, const RepairRequest& m, Output& out);
  void on_claim(Time now, MemberHandle from, const Claim& m, Output& out);
  void on_dataset_view(Time now, MemberHandle from, const DatasetViewMessage& m, Output& out);
  void storage_tick(Time now, Output& out);
  Time storage_deadline() const;
  void member_gone(Time now, MemberHandle h, Output& out);
  // To each slot's heartbeat watchers, or to every watcher (`everyone`: the
  // first heartbeat of a slot just stored, an answer to a loss report).
  void send_heartbeats(Time now, Output& out, const DatasetId* only, bool everyone = false);
  void send_heartbeat(Time now, MemberHandle to, std::vector<HeartbeatEntry> entries, Output& out);
  void member_returned(Time now, MemberHandle h, Output& out);
  void step_down(Time now, DatasetState& d, MemberHandle winner, Output& out);
  void sweep(Time now, Output& out);
  void retry_assign(Time now, const DatasetId& id, Output& out);
  // Ignore RepairRequests for the slot for `window` (0: one re-request period).
  void concede(Time now, const DatasetId& dataset, std::uint32_t slot, Time window = 0);
  void acknowledged(const DatasetId& id, std::uint32_t slot, MemberHandle holder);
  void mark_lost(Time now, DatasetState& d, std::uint32_t slot, LossReason reason, Output& out);
  void add_reporter(Time now, DatasetState& d, std::uint32_t slot, MemberHandle reporter, Output& out);
  void maybe_repair(Time now, DatasetState& d, Output& out);
  void request_repair(Time now, DatasetState& d, std::uint32_t slot, Output& out);
  std::vector<MemberHandle> repair_candidates(const DatasetState& d, std::uint32_t slot,
                                              std::size_t skip, std::size_t count) const;
  void make_claim(Time now, DatasetState& d, Output& out);
  void start_audit(Time now, const DatasetState& d, std::uint32_t slot, Output& out);
  // Audits the slot's holder, unless an audit of it is already waiting for
  // its answer; a failed one puts `successor` in its place (PendingAudit).
  void audit_once(Time now, const DatasetState& d, std::uint32_t slot, MemberHandle successor, Output& out);
  void audit_member(Time now, const DatasetId& dataset, std::uint32_t slot, MemberHandle target, bool rival,
                    Output& out, bool claimant = false);
  // A claimant that has not heartbeated in time: the next candidates are asked.
  void give_up_claimant(Time now, DatasetState& d, std::uint32_t slot, Output& out);
  std::uint64_t view_digest(const DatasetState& d) const;
  DatasetViewMessage view_message(const DatasetState& d) const;
  std::vector<std::optional<MemberId>> holders_of(const DatasetState& d) const;
  std::vector<MemberHandle> watchers_of(const DatasetState& d) const;
  // The co-holders the holder of `slot` heartbeats (Config::heartbeat_watchers).
  std::vector<MemberHandle> heartbeat_watchers(const DatasetState& d, std::uint32_t slot) const;
  // The holders heartbeat_watchers() arranges in a circle, and the watchers
  // of `holder` in it (sweep() computes the circle once for all slots).
  const std::vector<MemberHandle>& holder_circle(const DatasetState& d) const;
  std::vector<MemberHandle> watchers_in_circle(const std::vector<MemberHandle>& circle, MemberHandle holder) const;
  // Whether `who` is among watchers_in_circle(circle, holder).
  bool watches_in_circle(const std::vector<MemberHandle>& circle, MemberHandle holder, MemberHandle who) const;
  bool better_claim(const DatasetId& dataset, std::uint32_t slot, MemberHandle a, MemberHandle b) const;
};

// The challenge a holder answers in a heartbeat to a watcher who gave it `nonce`.
Bytes heartbeat_challenge(ByteView nonce, const DatasetId& dataset, std::uint32_t slot);
// Which entries (indices into a heartbeat's entries) a nonce asks proofs for.
std::vector<std::size_t> sampled_entries(ByteView nonce, std::size_t entries, std::uint32_t proofs);

}  // namespace codex::protocol
