// The Node's entry points: decoding and dispatch of peer messages (refusing
// non-members), ticks, local events, deadlines and read-only views. The
// protocol itself lives in membership.cpp and storage.cpp.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "codex/random.hpp"

#include "node_impl.hpp"

namespace codex::protocol {

Node::Impl::Impl(const Config& config_, SelfIdentity self_, Crypto& crypto_, ProofSystem& proofs_,
                 std::uint64_t seed, std::shared_ptr<MemberDirectory> directory_, Random* secrets_)
    : config(config_),
      self(std::move(self_)),
      crypto(crypto_),
      proofs(proofs_),
      rng(seed),
      secrets(secrets_),
      directory(directory_ ? std::move(directory_) : std::make_shared<MemberDirectory>()),
      ring(*directory) {
  me = directory->intern(self.id);
  heartbeat_seq = self.first_heartbeat_seq;
  incarnation = self.first_incarnation;
  DatasetHash hash;
  std::uint64_t x = seed ^ 0x6a09e667f3bcc909ull;
  for (auto& k : hash.keys) {
    // splitmix64: keys from the seed without drawing from rng
    x += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    k = z ^ (z >> 31);
  }
  if (secrets) {
    // A daemon's seed may be guessable; its table key must not be.
    Bytes b = secret_bytes(32);
    for (std::size_t i = 0; i < 4; ++i)
      for (std::size_t j = 0; j < 8; ++j) hash.keys[i] = hash.keys[i] << 8 | b[i * 8 + j];
  }
  datasets = decltype(datasets)(16, hash);
  std::uint32_t buckets = std::clamp<std::uint32_t>(config.sync_buckets, 1, 256);
  bucket_digests.assign(std::bit_ceil(buckets), 0);
}

std::uint64_t Node::Impl::random(std::uint64_t bound) {
  if (bound <= 1) return 0;
  // Rejection sampling keeps it uniform and identical on every platform.
  std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    std::uint64_t v = rng();
    if (v < limit) return v % bound;
  }
}

Bytes Node::Impl::random_bytes(std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t v = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = std::uint8_t(v >> (8 * j));
  }
  return out;
}

Bytes Node::Impl::secret_bytes(std::size_t n) {
  if (!secrets) return random_bytes(n);
  Bytes out(n);
  if (Status filled = secrets->fill(out); !filled) {
    // Never fall back to a guessable source: a peer that can predict a
    // challenge can prove storage it does not have.
    std::fprintf(stderr, "codex protocol: the CSPRNG failed: %s\n", filled.error().message.c_str());
    std::abort();
  }
  return out;
}

std::uint64_t Node::Impl::secret_below(std::uint64_t bound) {
  if (!secrets) return random(bound);
  if (bound <= 1) return 0;
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    const Bytes b = secret_bytes(8);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t(b[i]) << (8 * i);
    if (v < limit) return v % bound;
  }
}

void Node::Impl::send(MemberHandle to, const Message& message, Output& out) {
  if (to == me) return;
  send_encoded(to, encode(message), out);
}

void Node::Impl::send_encoded(MemberHandle to, Bytes payload, Output& out) {
  if (to == me) return;
  stats.messages_sent++;
  stats.bytes_sent += payload.size();
  out.messages.push_back(Outgoing{directory->id(to), std::move(payload)});
}

MemberEntry& Node::Impl::entry(MemberHandle h) {
  if (h >= members.size()) members.resize(std::max<std::size_t>(h + 1, directory->size()));
  return members[h];
}

const MemberEntry* Node::Impl::find_entry(MemberHandle h) const {
  if (h >= members.size() || members[h].status == 0) return nullptr;
  return &members[h];
}

bool Node::Impl::is_member(MemberHandle h) const {
  if (h == me) return true;
  const MemberEntry* e = find_entry(h);
  return e && MemberStatus(e->status) != MemberStatus::revoked &&
         directory->record(h, e->incarnation, false) != nullptr;
}

bool Node::Impl::is_live(MemberHandle h) const {
  if (h == me) return joined && !departed;
  const MemberEntry* e = find_entry(h);
  return e && protocol::is_live(MemberStatus(e->status));
}

Node::Node(const Config& config, SelfIdentity self, Crypto& crypto, ProofSystem& proofs,
           std::uint64_t seed, std::shared_ptr<MemberDirectory> directory, Random* secrets)
    : impl_(std::make_unique<Impl>(config, std::move(self), crypto, proofs, seed, std::move(directory), secrets)) {}

Node::~Node() = default;

void Node::join(Time now, std::span<const Contact> seeds, Output& out) { impl_->start(now, seeds, out); }

void Node::leave(Time now, Output& out) { impl_->depart(now, out); }

std::size_t Node::restore(Time now, std::span<const MemberId> members, Output& out) {
  Impl& s = *impl_;
  if (!s.joined || s.departed) return 0;
  std::vector<MemberHandle> live;
  live.reserve(members.size());
  if (s.members.size() < s.directory->size()) s.members.resize(s.directory->size());
  for (const MemberId& id : members) {
    MemberHandle h = s.directory->find(id);
    if (h == MemberDirectory::kNone || h == s.me || s.find_entry(h)) continue;
    const MemberDirectory::Record* r = s.directory->newest(h);
    if (!r || r->left || r->admission.expires <= now || s.revoked(id, r->admission.serial)) continue;
    MemberEntry& e = s.entry(h);
    e.status = std::uint8_t(MemberStatus::alive);
    e.incarnation = r->incarnation;
    s.bucket_digests[s.bucket_of(h)] ^= s.record_hash(h, e);
    if (r->admission.expires != kNever) s.cert_expiry[h] = r->admission.expires;
    out.actions.push_back(MemberChanged{id, MemberStatus::alive, r->addresses});
    live.push_back(h);
  }
  s.ring.insert_many(live);
  if (!live.empty()) s.live_epoch++;
  return live.size();
}

void Node::on_message(Time now, const MemberId& from, ByteView payload, Output& out) {
  Impl& s = *impl_;
  s.stats.messages_received++;
  s.stats.bytes_received += payload.size();
  if (s.departed || !s.joined) return;
  if (payload.size() > s.config.max_message_size) {
    s.stats.refused++;
    return;
  }
  auto decoded = decode(payload, s.config.max_list_entries);
  if (!decoded) {
    s.stats.refused++;
    return;
  }
  if (const auto* heartbeat = std::get_if<Heartbeat>(&*decoded))
    for (std::size_t i = 0; i < heartbeat->entries.size() && i < 8; ++i) s.datasets.prefetch(heartbeat->entries[i].dataset);
  MemberHandle sender = s.directory->intern(from);
  if (sender == s.me) {
    s.stats.refused++;
    return;
  }
  Message& message = *decoded;
  // Membership records ride on membership messages; apply them first, so a
  // joiner's own alive record admits it before the rest is looked at.
  std::visit(
      [&](auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, Ping> || std::is_same_v<M, Ack> || std::is_same_v<M, PingReq> ||
                      std::is_same_v<M, Nack> || std::is_same_v<M, Gossip> ||
                      std::is_same_v<M, SyncRequest> || std::is_same_v<M, SyncState>)
          s.apply_updates(now, m.updates, out,
                          std::is_same_v<M, SyncRequest> || std::is_same_v<M, SyncState> ? sender
                                                                                          : MemberDirectory::kNone);
      },
      message);
  if (!s.is_member(sender)) {
    // (A ping too: after its first probes a member stops carrying its own
    // record on them.)
    if (s.find_entry(sender) == nullptr) {
      // Not known yet (its alive record has not reached us): keep the message
      // briefly and ask the sender for its record, by a sync carrying ours.
      s.hold_unadmitted(now, sender, payload, out);
      return;
    }
    s.stats.refused++;
    s.stats.refused_non_member++;
    return;
  }
  s.received_payload = payload;
  s.dispatch(now, sender, message, out);
  s.received_payload = {};
  if (!s.unadmitted.empty()) s.replay_unadmitted(now, out);
}

void Node::Impl::hold_unadmitted(Time now, MemberHandle sender, ByteView payload, Output& out) {
  std::erase_if(unadmitted, [&](const Unadmitted& u) { return now - u.at > config.probe_interval; });
  if (unadmitted.size() >= 64) unadmitted.erase(unadmitted.begin());
  unadmitted.push_back(Unadmitted{sender, now, Bytes(payload.begin(), payload.end())});
  auto asked = asked_unknown.find(sender);
  if (asked != asked_unknown.end() && now - asked->second < config.probe_interval) return;
  asked_unknown[sender] = now;
  if (asked_unknown.size() > 256) asked_unknown.clear();
  send(sender, SyncRequest{bucket_digests, revocations_digest, {own_alive()}}, out);
}

void Node::Impl::replay_unadmitted(Time now, Output& out) {
  std::vector<Unadmitted> ready;
  std::erase_if(unadmitted, [&](Unadmitted& u) {
    if (!is_member(u.from)) return false;
    ready.push_back(std::move(u));
    return true;
  });
  for (auto& u : ready) {
    auto decoded = decode(u.payload, config.max_list_entries);
    if (!decoded) continue;
    received_payload = u.payload;
    dispatch(now, u.from, *decoded, out);
    received_payload = {};
  }
}

void Node::Impl::dispatch(Time now, MemberHandle sender, const Message& message, Output& out) {
  Impl& s = *this;
  std::visit(
      [&](auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, Ping>) s.on_ping(now, sender, m, out);
        else if constexpr (std::is_same_v<M, Ack>) s.on_ack(now, sender, m, out);
        else if constexpr (std::is_same_v<M, PingReq>) s.on_ping_req(now, sender, m, out);
        else if constexpr (std::is_same_v<M, Nack>) s.on_nack(now, sender, m, out);
        else if constexpr (std::is_same_v<M, Gossip>) {
        } else if constexpr (std::is_same_v<M, SyncRequest>) s.on_sync_request(now, sender, m, out);
        else if constexpr (std::is_same_v<M, SyncState>) s.on_sync_state(now, sender, m, out);
        else if constexpr (std::is_same_v<M, Heartbeat>) s.on_heartbeat(now, sender, m, out);
        else if constexpr (std::is_same_v<M, Audit>) s.on_audit(now, sender, m, out);
        else if constexpr (std::is_same_v<M, AuditReply>) s.on_audit_reply(now, sender, m, out);
        else if constexpr (std::is_same_v<M, Assign>) s.on_assign(now, sender, m, out);
        else if constexpr (std::is_same_v<M, LossReport>) s.on_loss_report(now, sender, m, out);
        else if constexpr (std::is_same_v<M, RepairRequest>) s.on_repair_request(now, sender, m, out);
        else if constexpr (std::is_same_v<M, Claim>) s.on_claim(now, sender, m, out);
        else if constexpr (std::is_same_v<M, DatasetViewMessage>) s.on_dataset_view(now, sender, m, out);
      },
      message);
}

void Node::on_tick(Time now, Output& out) {
  Impl& s = *impl_;
  if (!s.joined || s.departed) return;
  s.membership_tick(now, out);
  s.storage_tick(now, out);
}

void Node::on_local(Time now, const LocalEvent& event, Output& out) {
  if (impl_->departed) return;
  impl_->on_local_event(now, event, out);
}

Time Node::next_deadline() const {
  const Impl& s = *impl_;
  if (!s.joined || s.departed) return kNever;
  return std::min(s.membership_deadline(), s.storage_deadline());
}

void Node::prefetch(MemberHandle peer) const {
  // The lines of Impl that every message, tick and next_deadline() read
  // (the state is several KB, the random generator's 2.5 KB in the middle):
  // at 10,000 members they are cold when a node's turn comes, and loading
  // them one miss after another was ~8% of the simulation (on_message's own
  // time) plus most of next_deadline()'s 5%.
  const Impl& s = *impl_;
  __builtin_prefetch(&s.config);
  __builtin_prefetch(&s.stats);
  __builtin_prefetch(&s.joined);
  __builtin_prefetch(&s.members);
  __builtin_prefetch(&s.next_probe);
  __builtin_prefetch(&s.relayed);
  __builtin_prefetch(&s.suspicions);
  __builtin_prefetch(&s.broadcasts);
  __builtin_prefetch(&s.datasets);
  __builtin_prefetch(&s.peer_states);
  __builtin_prefetch(&s.audits);
  __builtin_prefetch(&s.next_heartbeat);
  __builtin_prefetch(&s.timers);
  __builtin_prefetch(&s.unprovable);
  // (Only with a peer: reading the view's size waits for the line that
  // holds it, which the caller may have asked for one event ago.)
  if (peer != MemberDirectory::kNone && peer < s.members.size()) __builtin_prefetch(&s.members[peer]);
}

void Node::audit(Time now, const DatasetId& dataset, std::uint32_t slot, Output& out) {
  auto it = impl_->datasets.find(dataset);
  if (it == impl_->datasets.end() || slot >= it->second.slots.size()) return;
  impl_->start_audit(now, it->second, slot, out);
}

const MemberId& Node::id() const { return impl_->self.id; }

std::vector<MemberView> Node::members() const {
  const Impl& s = *impl_;
  std::vector<MemberView> out;
  for (MemberHandle h = 0; h < s.members.size(); ++h) {
    const MemberEntry& e = s.members[h];
    if (e.status == 0) continue;
    MemberView v{s.directory->id(h), MemberStatus(e.status), e.incarnation, {}};
    if (const auto* r = s.directory->record(h, e.incarnation, false)) v.addresses = r->addresses;
    out.push_back(std::move(v));
  }
  if (s.joined) {
    MemberView v{s.self.id, s.departed ? MemberStatus::left : MemberStatus::alive, s.incarnation, s.self.addresses};
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const MemberView& a, const MemberView& b) { return a.id < b.id; });
  return out;
}

std::size_t Node::live_members() const { return impl_->live_count(); }

std::optional<MemberStatus> Node::status_of(const MemberId& member) const {
  const Impl& s = *impl_;
  MemberHandle h = s.directory->find(member);
  if (h == MemberDirectory::kNone) return std::nullopt;
  if (h == s.me) return s.joined ? std::optional(s.departed ? MemberStatus::left : MemberStatus::alive) : std::nullopt;
  const MemberEntry* e = s.find_entry(h);
  if (!e) return std::nullopt;
  return MemberStatus(e->status);
}

static DatasetView view_of(const Node::Impl& s, const DatasetState& d) {
  DatasetView v;
  v.dataset = d.desc;
  v.own_slot = d.own_slot;
  v.own_slot_stored = d.stored;
  for (std::uint32_t i = 0; i < d.slots.size(); ++i) {
    SlotView slot;
    slot.slot = i;
    if (d.slots[i].holder != MemberDirectory::kNone) slot.holder = s.directory->id(d.slots[i].holder);
    slot.health = d.slots[i].health;
    slot.last_heard = d.slots[i].last_heard;
    slot.last_proof = d.slots[i].last_proof;
    v.slots.push_back(slot);
  }
  return v;
}

std::vector<DatasetView> Node::datasets() const {
  std::vector<DatasetView> out;
  for (const auto& [id, d] : impl_->datasets) out.push_back(view_of(*impl_, d));
  std::sort(out.begin(), out.end(),
            [](const DatasetView& a, const DatasetView& b) { return a.dataset.id < b.dataset.id; });
  return out;
}

std::optional<DatasetView> Node::dataset(const DatasetId& id) const {
  auto it = impl_->datasets.find(id);
  if (it == impl_->datasets.end()) return std::nullopt;
  return view_of(*impl_, it->second);
}

std::vector<MemberId> Node::placement(const DatasetDescriptor& dataset, bool include_self) const {
  std::vector<MemberId> out;
  for (const auto& h : include_self ? place_dataset(impl_->ring, dataset) : place_dataset(impl_->ring, dataset, impl_->me))
    if (h) out.push_back(impl_->directory->id(*h));
  return out;
}

const NodeStats& Node::stats() const { return impl_->stats; }

std::uint32_t Node::health_score() const { return impl_->awareness; }

}  // namespace codex::protocol
