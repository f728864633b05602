// Placement, heartbeats, audits, loss detection and repair decisions.
//
// Each member tracks only the datasets it holds a slot of (or is asked to
// rebuild), so its state and traffic grow with the slots it holds, not with
// the community. The holders of one dataset watch each other:
//  - Heartbeats: every heartbeat interval a holder sends each co-holder one
//    signed heartbeat listing the slots it holds of datasets they share, with
//    storage proofs for the entries the co-holder's last nonce selects, on a
//    challenge derived from that nonce (so it cannot be precomputed).
//  - Loss: a co-holder that misses heartbeats (or fails a proof or an audit,
//    or is declared dead by SWIM) is lost in a watcher's view; watchers tell
//    each other (LossReport), and only when loss_confirmations of them agree
//    is the loss confirmed.
//  - Repair: once l0 slots of a dataset are confirmed lost, the watchers ask
//    the next members by placement (rank 0, 1, ...) to rebuild; rank r waits
//    r * repair_backoff before claiming; claims are ordered by XOR distance
//    to the slot point, then member id, so every member settles on the same
//    claimant without a vote, and worse claimants cancel.
//  - Anti-entropy of health: each heartbeat entry carries a digest of the
//    sender's view of the dataset; a differing digest is answered with the
//    whole view, merged by the same claim order.
#include <algorithm>

#include "node_impl.hpp"

namespace codex::protocol {
namespace {

std::uint64_t prefix64(const Digest& d) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | d[i];
  return v;
}

bool lostish(SlotHealth h) { return h == SlotHealth::lost || h == SlotHealth::confirmed; }

// The slot's holder or claimant was found lost in this view: one more loss
// of it (docs/protocol.md, "Slot epochs"). Saturates: at the top every
// epoch compares equal, which is the rule without epochs.
void count_loss(SlotState& s) {
  if (s.epoch < UINT32_MAX) ++s.epoch;
}

// A fact adopted from a view at `theirs` raises this view's epoch by at most
// one: a member that lies about epochs moves them no faster than it can
// make this view adopt something (docs/protocol.md, Security considerations).
void adopt_epoch(SlotState& s, std::uint32_t theirs) {
  if (theirs > s.epoch && s.epoch < UINT32_MAX) ++s.epoch;
}

}  // namespace

Bytes heartbeat_challenge(ByteView nonce, const DatasetId& dataset, std::uint32_t slot) {
  Bytes in(as_bytes("codex-tools/heartbeat-challenge/v1").begin(), as_bytes("codex-tools/heartbeat-challenge/v1").end());
  in.insert(in.end(), nonce.begin(), nonce.end());
  in.insert(in.end(), dataset.begin(), dataset.end());
  for (int i = 3; i >= 0; --i) in.push_back(std::uint8_t(slot >> (8 * i)));
  Digest d = sha256(in);
  return Bytes(d.begin(), d.end());
}

std::vector<std::size_t> sampled_entries(ByteView nonce, std::size_t entries, std::uint32_t proofs) {
  std::vector<std::size_t> out;
  if (entries == 0 || proofs == 0) return out;
  Bytes in(as_bytes("codex-tools/heartbeat-sample/v1").begin(), as_bytes("codex-tools/heartbeat-sample/v1").end());
  in.insert(in.end(), nonce.begin(), nonce.end());
  std::size_t start = prefix64(sha256(in)) % entries;
  for (std::size_t j = 0; j < std::min<std::size_t>(proofs, entries); ++j) out.push_back((start + j) % entries);
  return out;
}

// --- Views of one dataset -------------------------------------------------------

bool Node::Impl::better_claim(const DatasetId& dataset, std::uint32_t slot, MemberHandle a, MemberHandle b) const {
  if (b == MemberDirectory::kNone) return true;
  if (a == MemberDirectory::kNone) return false;
  return closer(slot_point(dataset, slot), directory->point(a), directory->id(a), directory->point(b),
                directory->id(b));
}

std::vector<std::optional<MemberId>> Node::Impl::holders_of(const DatasetState& d) const {
  std::vector<std::optional<MemberId>> out(d.slots.size());
  for (std::size_t i = 0; i < d.slots.size(); ++i)
    if (d.slots[i].holder != MemberDirectory::kNone && !lostish(d.slots[i].health))
      out[i] = directory->id(d.slots[i].holder);
  return out;
}

std::vector<MemberHandle> Node::Impl::watchers_of(const DatasetState& d) const {
  std::vector<MemberHandle> out;
  // A holder lost in our view but not confirmed, and still a live member,
  // stays a watcher: if our own view is the stale one (we were cut off), its
  // answers are how we learn it, instead of holding on alone.
  for (const SlotState& s : d.slots) {
    if (s.holder == MemberDirectory::kNone || s.holder == me || s.health == SlotHealth::confirmed || !is_live(s.holder))
      continue;
    if (std::find(out.begin(), out.end(), s.holder) == out.end()) out.push_back(s.holder);
  }
  return out;
}

std::vector<MemberHandle> Node::Impl::heartbeat_watchers(const DatasetState& d, std::uint32_t slot) const {
  const MemberHandle holder = slot < d.slots.size() ? d.slots[slot].holder : MemberDirectory::kNone;
  return watchers_in_circle(holder_circle(d), holder);
}

const std::vector<MemberHandle>& Node::Impl::holder_circle(const DatasetState& d) const {
  // The holders that watchers_of() counts (not confirmed lost, live;
  // ourselves included), in slot order.
  std::uint64_t of = d.slots.size();
  for (const SlotState& s : d.slots)
    of = (of ^ (std::uint64_t(s.holder) << 1 | (s.health == SlotHealth::confirmed ? 1 : 0))) * 0x9e3779b97f4a7c15ull;
  if (d.circle_epoch == live_epoch && d.circle_of == of) return d.circle;
  d.circle.clear();
  for (const SlotState& s : d.slots) {
    if (s.holder == MemberDirectory::kNone || s.health == SlotHealth::confirmed || !is_live(s.holder)) continue;
    if (std::find(d.circle.begin(), d.circle.end(), s.holder) == d.circle.end()) d.circle.push_back(s.holder);
  }
  d.circle_of = of;
  d.circle_epoch = live_epoch;
  return d.circle;
}

namespace {

// Whether the holder at position b of a circle of m holders heartbeats the
// one at position a (or the other way round: the relation is symmetric),
// when each heartbeats w of them (0 < w < m - 1); see watchers_in_circle.
bool circle_neighbours(std::size_t a, std::size_t b, std::size_t m, std::size_t w) {
  if (a == b) return false;
  const std::size_t gap = a > b ? a - b : b - a;
  const std::size_t dist = std::min(gap, m - gap);
  const bool near = dist <= w / 2;
  const bool odd_one = w % 2 == 1 && (m % 2 == 0 ? dist == m / 2 : dist == w / 2 + 1);
  return near || odd_one;
}

}  // namespace

std::vector<MemberHandle> Node::Impl::watchers_in_circle(const std::vector<MemberHandle>& circle,
                                                         MemberHandle holder) const {
  // The holders of a dataset as a circle: a holder heartbeats the holders
  // next to it, up to heartbeat_watchers of them (the nearest on both
  // sides, and the opposite one when that makes the count). The relation is
  // symmetric, so that two holders heartbeat each other and each has the
  // nonce the other's proofs must answer, and the holder and each watcher
  // compute it alike from the same view.
  const auto at = std::find(circle.begin(), circle.end(), holder);
  const std::size_t m = circle.size(), w = config.heartbeat_watchers;
  std::vector<MemberHandle> out;
  if (at == circle.end() || w == 0 || w + 1 >= m) {
    // Every other holder (a holder outside the circle: lost in this view).
    for (MemberHandle h : circle)
      if (h != holder) out.push_back(h);
    return out;
  }
  const std::size_t a = std::size_t(at - circle.begin());
  for (std::size_t b = 0; b < m; ++b)
    if (circle_neighbours(a, b, m, w)) out.push_back(circle[b]);
  return out;
}

bool Node::Impl::watches_in_circle(const std::vector<MemberHandle>& circle, MemberHandle holder,
                                   MemberHandle who) const {
  // The same answer as looking `who` up in watchers_in_circle(circle,
  // holder), without building the list: sweep() asks it for every slot of
  // every dataset it watches (a vector allocated and freed each time was
  // ~3% of the 10,000-member simulation).
  if (who == holder) return false;
  const auto at = std::find(circle.begin(), circle.end(), holder);
  const auto self = std::find(circle.begin(), circle.end(), who);
  if (self == circle.end()) return false;
  const std::size_t m = circle.size(), w = config.heartbeat_watchers;
  if (at == circle.end() || w == 0 || w + 1 >= m) return true;
  return circle_neighbours(std::size_t(at - circle.begin()), std::size_t(self - circle.begin()), m, w);
}

std::uint64_t Node::Impl::view_digest(const DatasetState& d) const {
  bool same = d.digest_of.size() == d.slots.size();
  for (std::size_t i = 0; same && i < d.slots.size(); ++i)
    same = d.digest_of[i] == (std::uint64_t(d.slots[i].holder) << 1 | (lostish(d.slots[i].health) ? 1 : 0));
  if (same) return d.digest;
  d.digest_of.resize(d.slots.size());
  for (std::size_t i = 0; i < d.slots.size(); ++i)
    d.digest_of[i] = std::uint64_t(d.slots[i].holder) << 1 | (lostish(d.slots[i].health) ? 1 : 0);
  Bytes in;
  in.reserve(d.slots.size() * 33);
  for (const SlotState& s : d.slots) {
    if (s.holder == MemberDirectory::kNone) in.insert(in.end(), 32, 0);
    else {
      const MemberId& id = directory->id(s.holder);
      in.insert(in.end(), id.begin(), id.end());
    }
    in.push_back(lostish(s.health) ? 1 : 0);
  }
  d.digest = prefix64(sha256(in));
  return d.digest;
}

// --- Local events --------------------------------------------------------------------

void Node::Impl::on_local_event(Time now, const LocalEvent& event, Output& out) {
  if (auto* e = std::get_if<DatasetPublished>(&event)) {
    const DatasetDescriptor& desc = e->dataset;
    if (desc.plain) {
      DatasetState d;
      d.desc = desc;
      d.own_slot = 0;
      d.stored = true;
      datasets[desc.id] = std::move(d);
      return;
    }
    if (desc.k == 0 || desc.l0 == 0) return;
    auto placed = e->place_on_self ? place_dataset(ring, desc) : place_dataset(ring, desc, me);
    DatasetState d;
    d.desc = desc;
    d.slots.resize(desc.slots());
    for (std::uint32_t i = 0; i < desc.slots(); ++i) {
      d.slots[i].holder = placed[i].value_or(MemberDirectory::kNone);
      d.slots[i].health = SlotHealth::pending;
      d.slots[i].last_heard = now;
      if (placed[i] == me) {
        d.own_slot = i;
        d.stored = true;
        d.slots[i].health = SlotHealth::held;
      }
    }
    auto holders = holders_of(d);
    PendingAssign pending{desc, holders, std::vector<MemberHandle>(desc.slots(), MemberDirectory::kNone), 0,
                          now + config.assign_retry};
    bool awaiting = false;
    for (std::uint32_t i = 0; i < desc.slots(); ++i)
      if (d.slots[i].holder != MemberDirectory::kNone && d.slots[i].holder != me) {
        send(d.slots[i].holder, Assign{desc, i, holders}, out);
        pending.awaiting[i] = d.slots[i].holder;
        awaiting = true;
      }
    // Until each holder acknowledges its slot with a heartbeat, its Assign
    // is re-sent (a lost Assign would otherwise leave the slot unplaced
    // until the watchers find it missing, days later).
    if (awaiting && config.assign_tries > 0) {
      timers.emplace(pending.next, desc.id, 0, assign_timer);
      assigning[desc.id] = std::move(pending);
    }
    // The publisher keeps the dataset's state only if it is one of the holders.
    if (d.own_slot) datasets[desc.id] = std::move(d);
    return;
  }
  if (auto* e = std::get_if<SlotStored>(&event)) {
    auto it = datasets.find(e->dataset);
    if (it == datasets.end() || it->second.own_slot != e->slot || it->second.stored) return;
    DatasetState& d = it->second;
    d.stored = true;
    if (d.assigner != MemberDirectory::kNone) {
      // Acknowledge the assignment to a publisher that is not a watcher
      // (watchers get the heartbeats below anyway).
      auto watchers = watchers_of(d);
      if (std::find(watchers.begin(), watchers.end(), d.assigner) == watchers.end() && is_live(d.assigner))
        send_heartbeat(now, d.assigner, {HeartbeatEntry{d.desc.id, e->slot, view_digest(d)}}, out);
      d.assigner = MemberDirectory::kNone;
    }
    if (d.claimed) {
      d.claimed = false;
      if (active_repairs > 0) active_repairs--;
      stats.repairs_finished++;
    }
    if (e->slot < d.slots.size()) {
      d.slots[e->slot].holder = me;
      d.slots[e->slot].health = SlotHealth::held;
      d.slots[e->slot].reporters.clear();
    }
    // The first heartbeat of a slot just stored goes to every watcher (it
    // ends a claim in progress or a pending assignment in each view); the
    // daily ones to its heartbeat watchers.
    send_heartbeats(now, out, &e->dataset);
    return;
  }
  if (auto* e = std::get_if<SlotDamaged>(&event)) {
    auto it = datasets.find(e->dataset);
    if (it == datasets.end() || it->second.own_slot != e->slot) return;
    DatasetState& d = it->second;
    if (!d.desc.plain) {
      for (MemberHandle w : watchers_of(d))
        send(w, LossReport{d.desc.id, e->slot, self.id, LossReason::holder_reported}, out);
    }
    if (d.claimed && active_repairs > 0) active_repairs--;
    out.actions.push_back(DropSlot{e->dataset, e->slot, !d.desc.plain});
    datasets.erase(it);
    // Not the one to rebuild it while others can: the watchers ask us last
    // (repair_candidates), and a request that reaches us anyway within a
    // repair timeout (a watcher that did not hear why the slot was lost) is
    // ignored. After that, in a community where nobody else can hold it,
    // we take it like any member.
    if (!d.desc.plain) concede(now, e->dataset, e->slot, config.repair_timeout);
    return;
  }
  if (auto* e = std::get_if<SlotFailed>(&event)) {
    auto it = datasets.find(e->dataset);
    if (it == datasets.end() || it->second.own_slot != e->slot || it->second.stored) return;
    DatasetState& d = it->second;
    if (d.claimed && active_repairs > 0) active_repairs--;
    for (MemberHandle w : watchers_of(d)) send(w, Claim{d.desc.id, e->slot, true}, out);
    datasets.erase(it);
    return;
  }
  if (auto* e = std::get_if<SlotResumed>(&event)) {
    const DatasetDescriptor& desc = e->dataset;
    if (desc.plain || desc.k == 0 || e->slot >= desc.slots() || datasets.count(desc.id)) return;
    DatasetState d;
    d.desc = desc;
    d.own_slot = e->slot;
    d.stored = true;
    d.slots.resize(desc.slots());
    for (std::uint32_t i = 0; i < desc.slots(); ++i) {
      if (i < e->holders.size() && e->holders[i] && *e->holders[i] != self.id)
        d.slots[i].holder = directory->intern(*e->holders[i]);
      d.slots[i].health = SlotHealth::pending;
      d.slots[i].last_heard = now;
    }
    d.slots[e->slot].holder = me;
    d.slots[e->slot].health = SlotHealth::held;
    datasets[desc.id] = std::move(d);
    send_heartbeats(now, out, &desc.id);
    return;
  }
  if (auto* e = std::get_if<DamageRemembered>(&event)) {
    // Our own damage report from before a restart: the window in which we
    // ignore requests for the slot goes on where it was (SlotDamaged above).
    if (e->age >= 0 && e->age < config.repair_timeout && !datasets.count(e->dataset))
      concede(now, e->dataset, e->slot, config.repair_timeout - e->age);
    return;
  }
  if (auto* e = std::get_if<DatasetForgotten>(&event)) {
    auto it = datasets.find(e->dataset);
    if (it != datasets.end() && it->second.desc.plain) datasets.erase(it);
    return;
  }
}

// --- Assignment ----------------------------------------------------------------------

void Node::Impl::on_assign(Time now, MemberHandle from, const Assign& m, Output& out) {
  if (m.dataset.plain || m.holders[m.slot] != self.id) return;
  if (auto it = datasets.find(m.dataset.id); it != datasets.end()) {
    // Already holding (or getting) a slot of it. A repeated Assign for the
    // slot we hold means our acknowledgement was lost: acknowledge again.
    DatasetState& d = it->second;
    if (d.own_slot == m.slot && d.stored)
      send_heartbeat(now, from, {HeartbeatEntry{d.desc.id, m.slot, view_digest(d)}}, out);
    return;
  }
  DatasetState d;
  d.assigner = from;
  d.desc = m.dataset;
  d.own_slot = m.slot;
  d.slots.resize(m.dataset.slots());
  std::vector<MemberId> sources{directory->id(from)};
  for (std::uint32_t i = 0; i < d.slots.size(); ++i) {
    if (m.holders[i]) d.slots[i].holder = directory->intern(*m.holders[i]);
    d.slots[i].health = SlotHealth::pending;
    d.slots[i].last_heard = now;
  }
  out.actions.push_back(FetchSlot{m.dataset, m.slot, sources});
  datasets[m.dataset.id] = std::move(d);
}

// --- Heartbeats ------------------------------------------------------------------------

PeerHeartbeat& Node::Impl::peer(MemberHandle h) {
  MemberEntry& e = entry(h);
  if (e.peer() == 0) {
    std::uint32_t index;
    if (!free_peer_states.empty()) {
      index = free_peer_states.back();
      free_peer_states.pop_back();
      peer_states[index] = PeerHeartbeat{};
    } else {
      index = std::uint32_t(peer_states.size());
      peer_states.emplace_back();
    }
    e.set_peer(index + 1);
  }
  return peer_states[e.peer() - 1];
}

void Node::Impl::forget_peer(MemberHandle h) {
  if (h >= members.size() || members[h].peer() == 0) return;
  free_peer_states.push_back(members[h].peer() - 1);
  members[h].set_peer(0);
}

void Node::Impl::send_heartbeats(Time now, Output& out, const DatasetId* only, bool everyone) {
  // (watcher, entry) pairs, grouped by watcher in handle order: one heartbeat each.
  std::vector<std::pair<MemberHandle, HeartbeatEntry>> batches;
  const Time quiet = (config.heartbeat_interval + config.heartbeat_interval / 2) *
                     Time(std::max<std::uint32_t>(1, config.suspect_after_missed));
  auto add = [&](DatasetState& d) {
    if (d.desc.plain || !d.own_slot || !d.stored || *d.own_slot >= d.slots.size()) return;
    std::uint64_t digest = view_digest(d);
    // A co-holder lost in our view but not confirmed keeps hearing from us
    // (watchers_of): if our view is the stale one, its answer is how we
    // learn it. The heartbeat circle alone may leave it out, and leave a
    // holder cut off by a partition heartbeating only members that have
    // since dropped the dataset.
    bool unconfirmed = false;
    // Whether no co-holder in our view still counts: each is gone, lost
    // (confirmed or not), or has not been credited with a heartbeat for
    // suspect_after_missed heartbeat periods (our own heartbeat watchers
    // heartbeat us every interval; a co-holder we do not watch may only be
    // named "held" by a view we adopted, perhaps a stale one).
    bool alone = true;
    for (std::uint32_t i = 0; i < d.slots.size(); ++i) {
      const SlotState& s = d.slots[i];
      unconfirmed |= s.health == SlotHealth::lost;
      if (i != *d.own_slot && s.holder != MemberDirectory::kNone && !lostish(s.health) && now - s.last_heard <= quiet)
        alone = false;
    }
    const auto watchers =
        everyone || !d.announced || unconfirmed ? watchers_of(d) : heartbeat_watchers(d, *d.own_slot);
    d.announced = true;
    const HeartbeatEntry entry{d.desc.id, *d.own_slot, digest};
    for (MemberHandle w : watchers)
      if (w != me) batches.emplace_back(w, entry);
    if (alone && d.slots.size() > 1) {
      // A stale island: the co-holders our view names are gone or lost, and
      // those still live may have dropped the dataset (replaced while we
      // were cut off), so our heartbeats reach nobody who holds it, while
      // our own slot may have been rebuilt elsewhere. Heartbeat the members
      // placement puts nearest each slot of the dataset instead, where its
      // current holders are found: one that holds a slot of it answers with
      // its view when ours differs (on_heartbeat), which names our slot's
      // other holder if there is one, and the claim order settles the two
      // (the worse steps down once the better proves it holds the slot).
      const std::size_t r = std::max<std::uint32_t>(1, config.repair_candidates);
      std::vector<MemberHandle> asked;
      for (std::uint32_t i = 0; i < d.slots.size(); ++i)
        for (MemberHandle h : ring.closest(slot_point(d.desc.id, i), r + 1))
          if (h != me && std::find(asked.begin(), asked.end(), h) == asked.end() &&
              std::find(watchers.begin(), watchers.end(), h) == watchers.end())
            asked.push_back(h);
      for (MemberHandle h : asked) batches.emplace_back(h, entry);
    }
  };
  if (only) {
    auto it = datasets.find(*only);
    if (it != datasets.end()) add(it->second);
  } else {
    datasets.for_each_prefetched(add);
  }
  std::stable_sort(batches.begin(), batches.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < batches.size();) {
    std::size_t j = i;
    std::vector<HeartbeatEntry> entries;
    for (; j < batches.size() && batches[j].first == batches[i].first; ++j) entries.push_back(batches[j].second);
    send_heartbeat(now, batches[i].first, std::move(entries), out);
    i = j;
  }
}

void Node::Impl::send_heartbeat(Time now, MemberHandle w, std::vector<HeartbeatEntry> entries, Output& out) {
  {
    std::sort(entries.begin(), entries.end(), [](const HeartbeatEntry& a, const HeartbeatEntry& b) {
      return std::tie(a.dataset, a.slot) < std::tie(b.dataset, b.slot);
    });
    PeerHeartbeat& p = peer(w);
    Heartbeat hb;
    hb.holder = self.id;
    hb.recipient = directory->id(w);
    hb.seq = ++heartbeat_seq;
    hb.nonce = secret_bytes(16);
    if (!p.their_nonce.empty()) {
      for (std::size_t idx : sampled_entries(p.their_nonce.view(), entries.size(), config.heartbeat_proofs)) {
        const HeartbeatEntry& e = entries[idx];
        auto proof = proofs.prove(e.dataset, e.slot, heartbeat_challenge(p.their_nonce.view(), e.dataset, e.slot));
        if (proof) hb.proofs.push_back(HeartbeatProof{e.dataset, e.slot, p.their_nonce.to_bytes(), std::move(*proof)});
        else unprovable.emplace_back(e.dataset, e.slot);  // handled as damage by the next tick
      }
    }
    hb.entries = std::move(entries);
    p.my_old_nonce = p.my_nonce;
    p.my_nonce.assign(hb.nonce);
    Bytes signing = heartbeat_signing_bytes(hb);
    const Bytes signature = crypto.sign(signing);
    send_encoded(w, append_signature(std::move(signing), signature), out);
    stats.heartbeats_sent++;
  }
}

void Node::Impl::on_heartbeat(Time now, MemberHandle from, const Heartbeat& m, Output& out) {
  if (m.holder != directory->id(from) || m.recipient != self.id) {
    stats.refused++;
    return;
  }
  const bool signed_ok = received_payload.empty()
                             ? crypto.verify(m.holder, heartbeat_signing_bytes(m), m.signature)
                             : crypto.verify(m.holder, signed_part(received_payload, m.signature), m.signature);
  if (!signed_ok) {
    stats.refused++;
    stats.refused_signature++;
    return;
  }
  PeerHeartbeat& p = peer(from);
  if (m.seq <= p.last_seq) {
    stats.refused++;
    stats.refused_replay++;
    return;
  }
  for (std::size_t i = 1; i < m.entries.size(); ++i) {
    if (!(std::tie(m.entries[i - 1].dataset, m.entries[i - 1].slot) < std::tie(m.entries[i].dataset, m.entries[i].slot))) {
      stats.refused++;
      return;
    }
  }
  p.last_seq = m.seq;
  if (m.nonce.size() >= 8) p.their_nonce.assign(m.nonce);
  stats.heartbeats_accepted++;
  // The datasets' nodes were asked for on decoding (Node::on_message); now
  // their slots, while the proofs are checked.
  for (std::size_t i = 0; i < m.entries.size() && i < 8; ++i)
    if (auto it = datasets.find(m.entries[i].dataset); it != datasets.end()) DatasetMap::prefetch_parts(it->second);

  // Proofs: each must answer a nonce we gave this holder, for an entry that nonce selects.
  enum class Proven : std::uint8_t { none, good, bad };
  std::vector<Proven> proven(m.entries.size(), Proven::none);
  std::vector<bool> sampled(m.entries.size(), false);
  bool proofs_due = !p.my_old_nonce.empty();
  for (const HeartbeatProof& hp : m.proofs) {
    bool ours = p.my_nonce.equals(hp.nonce) || p.my_old_nonce.equals(hp.nonce);
    auto picks = sampled_entries(hp.nonce, m.entries.size(), config.heartbeat_proofs);
    std::optional<std::size_t> at;
    for (std::size_t idx : picks)
      if (m.entries[idx].dataset == hp.dataset && m.entries[idx].slot == hp.slot) at = idx;
    if (!ours || !at) continue;  // a proof for a challenge we did not pose proves nothing
    for (std::size_t idx : picks) sampled[idx] = true;
    if (secret_below(100) >= config.proof_check_percent) {
      proven[*at] = Proven::good;
      continue;
    }
    stats.proofs_checked++;
    Status st = proofs.check(hp.dataset, hp.slot, heartbeat_challenge(hp.nonce, hp.dataset, hp.slot), hp.proof);
    if (st.ok() || st.error().code == Errc::not_found) {
      proven[*at] = Proven::good;
    } else {
      proven[*at] = Proven::bad;
      stats.proofs_failed++;
    }
  }
  if (proofs_due && m.proofs.empty())
    for (std::size_t idx : sampled_entries(p.my_old_nonce.view(), m.entries.size(), config.heartbeat_proofs)) sampled[idx] = true;

  std::vector<DatasetState*> differing;
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    const HeartbeatEntry& e = m.entries[i];
    if (!assigning.empty()) acknowledged(e.dataset, e.slot, from);
    auto it = datasets.find(e.dataset);
    if (it == datasets.end()) continue;
    DatasetState& d = it->second;
    if (d.desc.plain || e.slot >= d.slots.size()) continue;
    if (d.own_slot == e.slot) {
      // Another member holds our slot (both sides of a healed partition
      // repaired it). The claim order settles it: the worse holder steps
      // down once the better one has proven it holds the slot; the better
      // one shows itself to the worse one.
      if (!d.stored || proven[i] == Proven::bad) continue;
      if (better_claim(d.desc.id, e.slot, from, me)) audit_member(now, d.desc.id, e.slot, from, true, out);
      else send_heartbeat(now, from, {HeartbeatEntry{d.desc.id, e.slot, view_digest(d)}}, out);
      continue;
    }
    SlotState& s = d.slots[e.slot];
    if (proven[i] == Proven::bad) {
      if (s.holder == from) mark_lost(now, d, e.slot, LossReason::audit_failed, out);
      continue;
    }
    // A sampled entry without a good proof earns no credit.
    bool credit = !sampled[i] || proven[i] == Proven::good;
    if (s.holder != from) {
      // A holder proven by its heartbeat also replaces a claim still in
      // progress (if the claimant is better, it wins the slot back once it
      // holds it, and this one steps down).
      bool adopt = s.holder == MemberDirectory::kNone || lostish(s.health) || !is_live(s.holder) ||
                   s.health == SlotHealth::repairing || better_claim(d.desc.id, e.slot, from, s.holder);
      if (!adopt || !credit) {
        differing.push_back(&d);
        continue;
      }
      // A better holder replaces one that still holds the slot in our view
      // (two claimants both finished a rebuild): tell the replaced one now,
      // so that it audits the better one and steps down, instead of at its
      // next heartbeat, up to a heartbeat interval later.
      const MemberHandle replaced = s.holder;
      const bool tell = replaced != MemberDirectory::kNone && replaced != me && !lostish(s.health) &&
                        s.health != SlotHealth::repairing && is_live(replaced);
      s.holder = from;
      s.reporters.clear();
      if (tell) {
        s.health = SlotHealth::held;
        send(replaced, view_message(d), out);
      }
    }
    if (credit) {
      s.last_heard = now;
      if (proven[i] == Proven::good) s.last_proof = now;
      if (s.health != SlotHealth::confirmed || s.reporters.size() < config.loss_confirmations) {
        s.health = SlotHealth::held;
        s.reporters.clear();
      }
    }
    if (e.view_digest != view_digest(d)) differing.push_back(&d);
  }
  // By dataset id, never by address: the order of the replies must not depend on the heap.
  std::sort(differing.begin(), differing.end(),
            [](const DatasetState* a, const DatasetState* b) { return a->desc.id < b->desc.id; });
  differing.erase(std::unique(differing.begin(), differing.end()), differing.end());
  for (DatasetState* d : differing) send(from, view_message(*d), out);
}

DatasetViewMessage Node::Impl::view_message(const DatasetState& d) const {
  DatasetViewMessage v;
  v.dataset = d.desc;
  v.holders.resize(d.slots.size());
  for (std::size_t i = 0; i < d.slots.size(); ++i) {
    if (d.slots[i].holder != MemberDirectory::kNone) v.holders[i] = directory->id(d.slots[i].holder);
    v.health.push_back(std::uint8_t(d.slots[i].health));
    v.epochs.push_back(d.slots[i].epoch);
  }
  return v;
}

void Node::Impl::on_dataset_view(Time now, MemberHandle from, const DatasetViewMessage& m, Output& out) {
  auto it = datasets.find(m.dataset.id);
  if (it == datasets.end()) return;
  DatasetState& d = it->second;
  if (d.desc.plain || d.slots.size() != m.holders.size()) return;
  // Only the dataset's holders speak for its health.
  bool sender_holds = false;
  for (const SlotState& s : d.slots) sender_holds |= s.holder == from;
  if (!sender_holds) {
    // A member that holds a slot in its own view (a watcher from the other
    // side of a healed partition, showing us its view because it had found
    // us lost): it speaks for nothing here, but if it names another holder
    // of our own slot, we show ourselves to that rival (see on_heartbeat).
    bool self_claimed = false;
    for (std::uint32_t i = 0; i < m.holders.size(); ++i)
      self_claimed |= m.holders[i] == directory->id(from) && !lostish(SlotHealth(m.health[i]));
    if (!self_claimed || !d.own_slot || !d.stored || *d.own_slot >= m.holders.size()) return;
    const auto& rival = m.holders[*d.own_slot];
    if (!rival || lostish(SlotHealth(m.health[*d.own_slot]))) return;
    MemberHandle r = directory->intern(*rival);
    if (r == me || !is_member(r)) return;  // (it may not be live in our view yet)
    send_heartbeat(now, r, {HeartbeatEntry{d.desc.id, *d.own_slot, view_digest(d)}}, out);
    return;
  }
  for (std::uint32_t i = 0; i < d.slots.size(); ++i) {
    SlotState& s = d.slots[i];
    SlotHealth theirs_health = SlotHealth(m.health[i]);
    MemberHandle theirs = m.holders[i] ? directory->intern(*m.holders[i]) : MemberDirectory::kNone;
    if (d.own_slot == i) {
      // Someone else holds or rebuilds our slot in the sender's view.
      if (theirs == MemberDirectory::kNone || theirs == me || !is_live(theirs) || lostish(theirs_health)) continue;
      // The claim order alone decides between two holders of one slot (a
      // worse rival that repaired it while we were cut off or silent
      // included): the worse one steps down once the better one has proven
      // it holds the slot, so no two views can settle on different winners.
      if (!better_claim(d.desc.id, i, theirs, me)) {
        // A worse rival: show ourselves to it; it audits us and steps down
        // (on_heartbeat). A claimant still rebuilding just carries on.
        if (d.stored) send_heartbeat(now, theirs, {HeartbeatEntry{d.desc.id, i, view_digest(d)}}, out);
        continue;
      }
      if (d.stored) {
        // A better rival: step down once it proves it holds the slot
        // (on_audit_reply); a rival still rebuilding proves nothing yet.
        audit_member(now, d.desc.id, i, theirs, true, out);
        continue;
      }
      if (theirs_health != SlotHealth::repairing) {
        // We are rebuilding: a better holder "held" in the sender's view
        // stops us, unless it is suspect in ours (then it is likely the lost
        // holder, in a view that has not caught up yet).
        const MemberEntry* te = find_entry(theirs);
        if (!te || MemberStatus(te->status) != MemberStatus::alive) continue;
        // A view that knows of fewer losses of the slot than the request we
        // answer predates the loss we rebuild: its holder is the one lost
        // (a damaged member alive and well, whose report had not reached the
        // sender yet), not a better one.
        if (theirs == s.former && m.epochs[i] < s.epoch) continue;
        if (d.claimed) {
          // The watchers know of our claim: as a loss takes two watchers'
          // word, so does stepping down. One co-holder's view may be older
          // than the loss (it still names the lost holder "held", and our
          // own membership may not have caught up either); stepping down on
          // it left the watchers waiting repair_timeout for a rebuild nobody
          // was doing.
          if (d.rival != theirs) {
            d.rival = theirs;
            d.rival_witnesses.clear();
          }
          if (std::find(d.rival_witnesses.begin(), d.rival_witnesses.end(), from) == d.rival_witnesses.end())
            d.rival_witnesses.push_back(from);
          if (d.rival_witnesses.size() < std::max<std::uint32_t>(1, config.loss_confirmations)) continue;
        }
      }
      step_down(now, d, theirs, out);
      return;
    }
    if (theirs == s.holder) {
      if (theirs != MemberDirectory::kNone && lostish(theirs_health)) add_reporter(now, d, i, from, out);
      continue;
    }
    if (theirs == MemberDirectory::kNone || lostish(theirs_health) || !is_live(theirs)) continue;
    // The holder this view found lost (or that lost the slot to damage),
    // named by a view that knows of fewer losses of the slot: the sender's
    // fact predates the loss (its report had not reached the sender).
    if (m.epochs[i] < s.epoch && (theirs == s.former || theirs == s.damaged)) continue;
    // A claimant we gave up on, or a claim in progress against a holder that
    // heartbeats to us, is old news.
    if (std::find(s.failed_claimants.begin(), s.failed_claimants.end(), theirs) != s.failed_claimants.end()) continue;
    if (theirs_health == SlotHealth::repairing && (s.health == SlotHealth::held || s.health == SlotHealth::pending))
      continue;
    // A rebuild in progress is taken from the claimant alone (its Claim, or
    // its own view). Taken from a third member's view it may be a claim
    // already withdrawn or given up on; watchers passing it between their
    // views would each renew it and wait for a rebuild nobody does.
    if (theirs_health == SlotHealth::repairing && theirs != from) continue;
    bool adopt = s.holder == MemberDirectory::kNone || lostish(s.health) || !is_live(s.holder) ||
                 better_claim(d.desc.id, i, theirs, s.holder);
    if (!adopt) {
      // The sender knows of a loss of the slot this view does not, and names
      // another holder: ours may be the one lost (its report never reached
      // us, and we are not among its heartbeat watchers). Ask it for a proof
      // rather than take the sender's word: one that cannot prove the slot
      // is replaced by the view's holder (on_audit_reply); one that holds
      // the slot proves it and nothing changes.
      if (m.epochs[i] > s.epoch && s.health != SlotHealth::repairing) audit_once(now, d, i, theirs, out);
      continue;
    }
    adopt_epoch(s, m.epochs[i]);
    s.holder = theirs;
    s.health = theirs_health == SlotHealth::held ? SlotHealth::pending : SlotHealth::repairing;
    s.last_heard = now;
    s.reporters.clear();
    s.claimant_audited = false;
    if (s.health == SlotHealth::repairing) {
      s.repair_deadline = now + config.repair_timeout;
      timers.emplace(s.repair_deadline, d.desc.id, i, repair_timer);
    }
  }
}

// --- Audits ------------------------------------------------------------------------

void Node::Impl::start_audit(Time now, const DatasetState& d, std::uint32_t slot, Output& out) {
  const SlotState& s = d.slots[slot];
  if (s.holder == MemberDirectory::kNone || s.holder == me) return;
  audit_member(now, d.desc.id, slot, s.holder, false, out);
}

void Node::Impl::audit_once(Time now, const DatasetState& d, std::uint32_t slot, MemberHandle successor,
                            Output& out) {
  for (const auto& [seq, a] : audits)
    if (!a.rival && a.dataset == d.desc.id && a.slot == slot) return;
  const std::uint64_t seq = next_seq;
  start_audit(now, d, slot, out);
  if (auto it = audits.find(seq); it != audits.end()) it->second.successor = successor;
}

void Node::Impl::audit_member(Time now, const DatasetId& dataset, std::uint32_t slot, MemberHandle target, bool rival,
                              Output& out, bool claimant) {
  if (rival) {
    // One rival audit at a time per slot and rival. Not one per slot: views
    // naming different rivals arrive together (co-holders that have not yet
    // found the old holder lost name it, another names the claimant that
    // replaced it), and an audit of a dead rival, never answered, kept the
    // live one from being audited, so the worse holder kept its copy until
    // its next heartbeat, a day later.
    for (const auto& [seq, a] : audits)
      if (a.rival && a.dataset == dataset && a.slot == slot && a.holder == target) return;
  }
  std::uint64_t seq = next_seq++;
  Bytes challenge = secret_bytes(32);
  audits[seq] = PendingAudit{dataset, slot, target, challenge, now + 4 * scaled(config.probe_timeout), rival, claimant};
  send(target, Audit{seq, dataset, slot, challenge}, out);
  stats.audits_sent++;
}

void Node::Impl::on_audit(Time now, MemberHandle from, const Audit& m, Output& out) {
  // Bounded work for any member: at most kAuditsPerWindow audits per
  // auditor per tenth of a probe interval. Not one: a member's heartbeat
  // covers all the datasets it shares with a watcher, the views that answer
  // it arrive together, and a holder shown the same better rival for two
  // slots audits it twice at once; the second audit, unanswered, was never
  // sent again, and that slot stayed held twice for a day.
  AuditWindow& window = audited_by[from];
  if (window.answered == 0 || now - window.start >= config.probe_interval / 10) {
    window.start = now;
    window.answered = 0;
  }
  if (window.answered >= kAuditsPerWindow) return;
  window.answered++;
  AuditReply reply;
  reply.holder = self.id;
  reply.auditor = directory->id(from);
  reply.seq = m.seq;
  reply.dataset = m.dataset;
  reply.slot = m.slot;
  reply.challenge = m.challenge;
  auto it = datasets.find(m.dataset);
  if (it != datasets.end() && it->second.own_slot == m.slot && it->second.stored && m.challenge.size() == 32) {
    auto proof = proofs.prove(m.dataset, m.slot, m.challenge);
    if (proof) {
      reply.held = true;
      reply.proof = std::move(*proof);
    } else if (!it->second.desc.plain) {
      unprovable.emplace_back(m.dataset, m.slot);  // as a heartbeat's proof: damage, handled by the next tick
    }
  }
  reply.signature = crypto.sign(audit_reply_signing_bytes(reply));
  send(from, reply, out);
}

void Node::Impl::on_audit_reply(Time now, MemberHandle from, const AuditReply& m, Output& out) {
  auto it = audits.find(m.seq);
  if (it == audits.end() || it->second.holder != from) return;
  PendingAudit a = it->second;
  if (m.holder != directory->id(from) || m.auditor != self.id || m.dataset != a.dataset || m.slot != a.slot ||
      m.challenge != a.challenge) {
    stats.refused++;
    return;
  }
  if (!crypto.verify(m.holder, audit_reply_signing_bytes(m), m.signature)) {
    stats.refused++;
    stats.refused_signature++;
    return;
  }
  audits.erase(it);
  auto dit = datasets.find(a.dataset);
  if (dit == datasets.end() || a.slot >= dit->second.slots.size()) return;
  DatasetState& d = dit->second;
  SlotState& s = d.slots[a.slot];
  if (a.rival) {
    // A better member proved it holds our own slot: we step down.
    if (d.own_slot != a.slot || !d.stored || !m.held || !better_claim(a.dataset, a.slot, from, me)) return;
    stats.proofs_checked++;
    Status st = proofs.check(a.dataset, a.slot, a.challenge, m.proof);
    if (st.ok() || st.error().code == Errc::not_found) step_down(now, d, from, out);
    return;
  }
  if (s.holder != from) return;
  bool good = false;
  if (m.held) {
    stats.proofs_checked++;
    Status st = proofs.check(a.dataset, a.slot, a.challenge, m.proof);
    good = st.ok() || st.error().code == Errc::not_found;
  }
  if (a.claimant) {
    // A claimant past its repair deadline (storage_tick): a proof makes it
    // the holder (its first heartbeat was lost, and the next comes a
    // heartbeat interval later); anything else leaves it to the timer, which
    // gives it up. Not damage: it may still be rebuilding.
    if (good && s.health == SlotHealth::repairing) {
      s.health = SlotHealth::held;
      s.claimant_audited = false;
      s.repair_deadline = 0;
      s.reporters.clear();
      s.last_heard = now;
      s.last_proof = now;
    }
    return;
  }
  if (good) {
    s.last_heard = now;
    s.last_proof = now;
    return;
  }
  stats.audits_failed++;
  if (a.successor != MemberDirectory::kNone) {
    // A check prompted by a newer view: our holder no longer has the slot
    // (lost, damaged, or it stepped down for the member that view names).
    // That member takes its place here, as the view said; no loss is
    // reported (the view's sender already knows of it), so an honest
    // holder that handed the slot over starts no repair.
    if (a.successor != me && is_live(a.successor) && !lostish(s.health)) {
      count_loss(s);
      s.former = s.holder;
      s.former_tries = 3;  // (no views to show it: it knows)
      s.holder = a.successor;
      s.health = SlotHealth::pending;
      s.last_heard = now;
      s.reporters.clear();
    }
    return;
  }
  mark_lost(now, d, a.slot, LossReason::audit_failed, out);
}

// --- Loss ---------------------------------------------------------------------------

void Node::Impl::mark_lost(Time now, DatasetState& d, std::uint32_t slot, LossReason reason, Output& out) {
  SlotState& s = d.slots[slot];
  if (s.holder == MemberDirectory::kNone || s.holder == me) return;
  if (reason == LossReason::audit_failed || reason == LossReason::holder_reported) s.damaged = s.holder;
  if (std::find(s.reporters.begin(), s.reporters.end(), me) != s.reporters.end()) return;
  if (!lostish(s.health)) count_loss(s);
  if (s.health != SlotHealth::confirmed) s.health = SlotHealth::lost;
  s.former = s.holder;
  s.former_tries = 0;
  LossReport report{d.desc.id, slot, directory->id(s.holder), reason};
  for (MemberHandle w : watchers_of(d))
    if (w != s.holder) send(w, report, out);
  add_reporter(now, d, slot, me, out);
}

void Node::Impl::add_reporter(Time now, DatasetState& d, std::uint32_t slot, MemberHandle reporter, Output& out) {
  SlotState& s = d.slots[slot];
  if (std::find(s.reporters.begin(), s.reporters.end(), reporter) != s.reporters.end()) return;
  s.reporters.push_back(reporter);
  if (s.reporters.size() >= config.loss_confirmations &&
      (s.health == SlotHealth::held || s.health == SlotHealth::pending || s.health == SlotHealth::suspect ||
       s.health == SlotHealth::lost || s.health == SlotHealth::repairing)) {
    if (s.health != SlotHealth::lost) count_loss(s);
    s.health = SlotHealth::confirmed;
    s.repair_deadline = 0;
    stats.losses_confirmed++;
    maybe_repair(now, d, out);
  }
}

void Node::Impl::on_loss_report(Time now, MemberHandle from, const LossReport& m, Output& out) {
  auto it = datasets.find(m.dataset);
  if (it == datasets.end()) return;
  DatasetState& d = it->second;
  if (d.desc.plain || m.slot >= d.slots.size()) return;
  MemberHandle accused = directory->intern(m.holder);
  if (accused == me) {
    // Others think we lost our slot: show them at once that we have not
    // (the reporter too: it may count heartbeats our view does not send it).
    if (d.own_slot == m.slot && d.stored) send_heartbeats(now, out, &d.desc.id, true);
    return;
  }
  SlotState& s = d.slots[m.slot];
  if (s.holder != accused) return;
  // Only the dataset's holders (or the accused itself) report losses.
  bool watcher = from == accused;
  for (const SlotState& o : d.slots) watcher |= o.holder == from;
  if (!watcher) return;
  if (m.reason == LossReason::holder_reported || m.reason == LossReason::audit_failed) s.damaged = accused;
  if (m.reason == LossReason::holder_reported && from == accused) {
    add_reporter(now, d, m.slot, from, out);
    mark_lost(now, d, m.slot, LossReason::holder_reported, out);
    return;
  }
  if (m.reason == LossReason::audit_failed && s.health != SlotHealth::confirmed) start_audit(now, d, m.slot, out);
  add_reporter(now, d, m.slot, from, out);
}

void Node::Impl::member_returned(Time now, MemberHandle h, Output& out) {
  (void)now;
  for (auto& [id, d] : datasets) {
    if (d.desc.plain || !d.own_slot || !d.stored) continue;
    for (std::uint32_t i = 0; i < d.slots.size(); ++i) {
      if (d.slots[i].former != h || d.slots[i].holder == h) continue;
      d.slots[i].former_tries = 0;
      send(h, view_message(d), out);
      break;
    }
  }
}

void Node::Impl::step_down(Time now, DatasetState& d, MemberHandle winner, Output& out) {
  (void)now;
  std::uint32_t slot = *d.own_slot;
  if (!d.stored) {
    concede(now, d.desc.id, slot);
    if (d.claimed) {
      out.actions.push_back(CancelSlot{d.desc.id, slot});
      if (active_repairs > 0) active_repairs--;
      stats.repairs_cancelled++;
    }
  } else {
    // Hand the watchers over to the winner, so they watch it instead of
    // finding us silent and repairing the slot again.
    std::vector<MemberHandle> watchers = watchers_of(d);
    d.slots[slot].holder = winner;
    d.slots[slot].health = SlotHealth::held;
    DatasetViewMessage view = view_message(d);
    for (MemberHandle w : watchers)
      if (w != winner) send(w, view, out);
    out.actions.push_back(DropSlot{d.desc.id, slot});
  }
  DatasetId id = d.desc.id;
  datasets.erase(id);
}

void Node::Impl::concede(Time now, const DatasetId& dataset, std::uint32_t slot, Time window) {
  // Requests from the other watchers, sent at about the same time as the one
  // we answered, still arrive after the better claim: without this record
  // each would make us a candidate again, and we would rebuild a slot that
  // is already being rebuilt. A window of one re-request period (watchers
  // that heard no claim ask the next ranks after it).
  std::erase_if(conceded, [&](const auto& c) { return c.second <= now; });
  if (window == 0) window = config.repair_backoff * Time(std::max<std::uint32_t>(1, config.repair_candidates) + 2);
  auto at = conceded.find({dataset, slot});
  if (at != conceded.end()) {
    at->second = std::max(at->second, now + window);
    return;
  }
  if (conceded.size() >= 4096) return;
  conceded[{dataset, slot}] = now + window;
}

void Node::Impl::member_gone(Time now, MemberHandle h, Output& out) {
  forget_peer(h);
  for (auto& [id, d] : datasets) {
    if (d.desc.plain || !d.own_slot) continue;
    for (std::uint32_t i = 0; i < d.slots.size(); ++i)
      if (d.slots[i].holder == h && i != *d.own_slot && !lostish(d.slots[i].health))
        mark_lost(now, d, i, LossReason::member_failed, out);
  }
}

// --- Repair ----------------------------------------------------------------------------

std::vector<MemberHandle> Node::Impl::repair_candidates(const DatasetState& d, std::uint32_t slot, std::size_t skip,
                                                        std::size_t count) const {
  // Skip members holding another slot of d, and the lost holder of this one,
  // and suspects: a member that may be gone rebuilds nothing, and views that
  // differ only in whether the lost holder is dead yet or still suspect
  // still agree on the candidates.
  auto excluded = [&](MemberHandle h) {
    if (h != me) {
      const MemberEntry* e = find_entry(h);
      if (e && MemberStatus(e->status) == MemberStatus::suspect) return true;
    }
    for (std::uint32_t i = 0; i < d.slots.size(); ++i)
      if (d.slots[i].holder == h && (i != slot || h != me)) return true;
    return std::find(d.slots[slot].failed_claimants.begin(), d.slots[slot].failed_claimants.end(), h) !=
           d.slots[slot].failed_claimants.end();
  };
  // The member that lost this slot to damage comes after all the others:
  // reached only when the closest members are the whole ring (a community
  // so small that nobody else can hold it). Every watcher that heard why
  // the slot was lost ranks alike.
  const MemberHandle last = d.slots[slot].damaged;
  Digest key = slot_point(d.desc.id, slot);
  std::size_t want = skip + count + d.slots.size() + d.slots[slot].failed_claimants.size() + (last != MemberDirectory::kNone);
  std::vector<MemberHandle> out;
  std::size_t seen = 0;
  auto take = [&](MemberHandle h) {
    if (excluded(h) || seen++ < skip) return false;
    out.push_back(h);
    return out.size() == count;
  };
  for (MemberHandle h : ring.closest(key, want))
    if (h != last && take(h)) return out;
  if (last != MemberDirectory::kNone && ring.size() <= want && ring.contains(last)) take(last);
  return out;
}

void Node::Impl::maybe_repair(Time now, DatasetState& d, Output& out) {
  std::uint32_t lost = 0;
  for (const SlotState& s : d.slots)
    if (s.health == SlotHealth::confirmed || s.health == SlotHealth::repairing) ++lost;
  if (lost < d.desc.l0) return;  // lazy repair: wait for l0 losses
  for (std::uint32_t i = 0; i < d.slots.size(); ++i)
    if (d.slots[i].health == SlotHealth::confirmed && d.slots[i].repair_deadline == 0) request_repair(now, d, i, out);
}

void Node::Impl::request_repair(Time now, DatasetState& d, std::uint32_t slot, Output& out) {
  SlotState& s = d.slots[slot];
  std::size_t r = std::max<std::uint32_t>(1, config.repair_candidates);
  auto candidates = repair_candidates(d, slot, s.repair_round * r, r);
  if (candidates.empty() && (s.repair_round > 0 || !s.failed_claimants.empty())) {
    // Past the last candidate (a small community): start over from the
    // first; one that was busy with another slot of d, or whose claim
    // lapsed, may be able to rebuild it now. Not at once, but after a
    // backoff: a candidate whose rebuild fails at once (fewer than K other
    // slots reachable, as on the small side of a partition) would otherwise
    // be asked again, fail again and withdraw again without end.
    s.repair_round = 0;
    s.failed_claimants.clear();
    if (!s.restarting) {
      s.restarting = true;
      s.repair_deadline = now + config.repair_backoff * Time(r + 2);
      timers.emplace(s.repair_deadline, d.desc.id, slot, repair_timer);
      return;
    }
    candidates = repair_candidates(d, slot, 0, r);
  }
  s.restarting = false;
  auto holders = holders_of(d);
  // The holder whose loss this repairs, as far as this view knows it.
  std::optional<MemberId> lost;
  if (s.holder != MemberDirectory::kNone && lostish(s.health)) lost = directory->id(s.holder);
  else if (s.former != MemberDirectory::kNone) lost = directory->id(s.former);
  for (std::uint32_t rank = 0; rank < candidates.size(); ++rank) {
    RepairRequest request{d.desc, slot, rank, holders, s.epoch, lost};
    if (candidates[rank] == me) continue;  // watchers hold a slot of d, so never rebuild another
    send(candidates[rank], request, out);
  }
  s.repair_deadline = now + config.repair_backoff * Time(r + 2);
  timers.emplace(s.repair_deadline, d.desc.id, slot, repair_timer);
}

void Node::Impl::on_repair_request(Time now, MemberHandle from, const RepairRequest& m, Output& out) {
  if (m.dataset.plain) return;
  if (!conceded.empty()) {
    auto c = conceded.find({m.dataset.id, m.slot});
    if (c != conceded.end() && c->second > now) return;  // a better claimant has it
  }
  if (auto it = datasets.find(m.dataset.id); it != datasets.end()) {
    // Holding a slot of it, or already a candidate. If it is this slot, the
    // watcher asking has not heard of our claim or our copy (a lost Claim or
    // heartbeat): tell it again, so that it stops asking further ranks.
    DatasetState& d = it->second;
    if (d.own_slot == m.slot && d.stored)
      send_heartbeat(now, from, {HeartbeatEntry{d.desc.id, m.slot, view_digest(d)}}, out);
    else if (d.own_slot == m.slot && d.claimed)
      send(from, Claim{d.desc.id, m.slot, false}, out);
    return;
  }
  if (active_repairs >= config.max_concurrent_repairs) return;  // the next rank will claim
  DatasetState d;
  d.desc = m.dataset;
  d.own_slot = m.slot;
  d.slots.resize(m.dataset.slots());
  for (std::uint32_t i = 0; i < d.slots.size(); ++i) {
    if (m.holders[i]) d.slots[i].holder = directory->intern(*m.holders[i]);
    d.slots[i].health = d.slots[i].holder == MemberDirectory::kNone ? SlotHealth::confirmed : SlotHealth::held;
    d.slots[i].last_heard = now;
  }
  if (d.slots[m.slot].holder != MemberDirectory::kNone) return;  // not lost in the sender's view
  d.slots[m.slot].epoch = m.epoch;
  if (m.lost && *m.lost != self.id) d.slots[m.slot].former = directory->intern(*m.lost);
  // Our own rank, from our own view where we can; the sender's otherwise.
  std::uint32_t rank = m.rank;
  auto mine = repair_candidates(d, m.slot, 0, std::max<std::uint32_t>(1, config.repair_candidates));
  for (std::uint32_t i = 0; i < mine.size(); ++i)
    if (mine[i] == me) rank = std::min(rank, i);
  d.claim_at = now + Time(rank) * config.repair_backoff;
  timers.emplace(d.claim_at, d.desc.id, m.slot, claim_timer);
  DatasetState& stored = datasets[m.dataset.id] = std::move(d);
  if (rank == 0) make_claim(now, stored, out);
}

void Node::Impl::make_claim(Time now, DatasetState& d, Output& out) {
  std::uint32_t slot = *d.own_slot;
  if (active_repairs >= config.max_concurrent_repairs) {
    datasets.erase(d.desc.id);
    return;
  }
  d.claimed = true;
  d.claim_at = kNever;
  // A rebuild that never reports (a stuck transfer, a lost report) must not
  // hold the claim forever: the watchers give up on us after repair_timeout,
  // and so do we, so that a later request finds us free.
  d.claim_expires = now + config.repair_timeout;
  timers.emplace(d.claim_expires, d.desc.id, slot, own_claim_timer);
  active_repairs++;
  stats.repairs_claimed++;
  std::vector<MemberHandle> told = watchers_of(d);
  for (MemberHandle c : repair_candidates(d, slot, 0, std::max<std::uint32_t>(1, config.repair_candidates)))
    if (c != me && std::find(told.begin(), told.end(), c) == told.end()) told.push_back(c);
  SlotState& s = d.slots[slot];
  s.holder = me;
  s.health = SlotHealth::repairing;
  s.last_heard = now;
  for (MemberHandle w : told) send(w, Claim{d.desc.id, slot, false}, out);
  RebuildSlot rebuild{d.desc, slot, holders_of(d)};
  rebuild.holders[slot].reset();
  out.actions.push_back(std::move(rebuild));
}

void Node::Impl::on_claim(Time now, MemberHandle from, const Claim& m, Output& out) {
  auto it = datasets.find(m.dataset);
  if (it == datasets.end()) return;
  DatasetState& d = it->second;
  if (d.desc.plain || m.slot >= d.slots.size()) return;
  SlotState& s = d.slots[m.slot];
  if (m.withdraw) {
    if (s.holder != from || d.own_slot == m.slot) return;
    s.failed_claimants.push_back(from);
    if (!lostish(s.health)) count_loss(s);
    s.holder = MemberDirectory::kNone;
    s.health = SlotHealth::confirmed;
    s.repair_round = 0;
    request_repair(now, d, m.slot, out);
    return;
  }
  if (d.own_slot == m.slot) {
    if (d.stored) return;  // we hold it: the watchers' views will tell the claimant
    if (better_claim(d.desc.id, m.slot, from, me)) {
      if (d.claimed) {
        out.actions.push_back(CancelSlot{d.desc.id, m.slot});
        if (active_repairs > 0) active_repairs--;
        stats.repairs_cancelled++;
      }
      concede(now, d.desc.id, m.slot);
      datasets.erase(it);
      return;
    }
    if (d.claimed) send(from, Claim{d.desc.id, m.slot, false}, out);
    else make_claim(now, d, out);  // a worse claimant started: claim now so it stops
    return;
  }
  if (s.holder == from) return;
  bool open = s.holder == MemberDirectory::kNone || lostish(s.health) || !is_live(s.holder) ||
              s.health == SlotHealth::repairing;
  if (!open) {
    // The slot is held in our view: show the claimant (it steps down once
    // enough watchers say so).
    send(from, view_message(d), out);
    return;
  }
  if (s.health == SlotHealth::repairing && s.holder != MemberDirectory::kNone && is_live(s.holder) &&
      !better_claim(d.desc.id, m.slot, from, s.holder))
    return;
  s.holder = from;
  s.health = SlotHealth::repairing;
  s.last_heard = now;
  s.reporters.clear();
  s.restarting = false;
  s.claimant_audited = false;
  s.repair_deadline = now + config.repair_timeout;
  timers.emplace(s.repair_deadline, d.desc.id, m.slot, repair_timer);
}

// --- Timers -------------------------------------------------------------------------

void Node::Impl::sweep(Time now, Output& out) {
  Time allowed = config.heartbeat_interval + config.heartbeat_interval / 2;
  datasets.for_each_prefetched([&](DatasetState& d) {
    if (d.desc.plain || !d.own_slot || !d.stored) return;
    // The circle once per dataset, not once per slot: each of its members
    // is a lookup in a membership view that is cold in the cache.
    const std::vector<MemberHandle>* circle = nullptr;
    for (std::uint32_t i = 0; i < d.slots.size(); ++i) {
      SlotState& s = d.slots[i];
      if (i == *d.own_slot) continue;
      if (s.former != MemberDirectory::kNone && s.former != s.holder && s.former_tries < 3 && is_live(s.former)) {
        // Retries of member_returned (that view may have been lost).
        s.former_tries++;
        send(s.former, view_message(d), out);
      }
      if (s.holder == MemberDirectory::kNone) continue;
      if (s.health != SlotHealth::held && s.health != SlotHealth::pending && s.health != SlotHealth::suspect) continue;
      // Only the slot's heartbeat watchers count its heartbeats; the others
      // learn of its loss from them, or from SWIM.
      if (!circle) circle = &holder_circle(d);
      if (!watches_in_circle(*circle, s.holder, me)) {
        s.watched_since = 0;
        continue;
      }
      if (s.watched_since == 0) s.watched_since = now;
      Time missed = (now - std::max(s.last_heard, s.watched_since)) / std::max<Time>(1, allowed);
      if (missed >= Time(config.lost_after_missed)) {
        mark_lost(now, d, i, LossReason::missed_heartbeats, out);
        circle = nullptr;  // the loss may change who is in it
      } else if (missed >= Time(config.suspect_after_missed)) {
        s.health = SlotHealth::suspect;
      }
    }
  });
}

void Node::Impl::storage_woke(Time now, Time away) {
  // This node did not run for `away` (membership's woke): the heartbeats
  // sent to it meanwhile went unheard, so the time away does not count as
  // heartbeats its holders missed (it found every slot it watches lost at
  // its first sweep back, and reported them).
  for (auto& [id, d] : datasets)
    for (SlotState& s : d.slots) {
      if (s.last_heard > 0) s.last_heard = std::min(now, s.last_heard + away);
      if (s.watched_since > 0) s.watched_since = std::min(now, s.watched_since + away);
    }
}

void Node::Impl::storage_tick(Time now, Output& out) {
  // Own slots we could not prove: the data is gone or damaged, whatever the
  // repository says; the watchers are told at once rather than after audits.
  auto damaged = std::move(unprovable);
  unprovable.clear();
  std::sort(damaged.begin(), damaged.end());
  damaged.erase(std::unique(damaged.begin(), damaged.end()), damaged.end());
  for (const auto& [id, slot] : damaged) on_local_event(now, SlotDamaged{id, slot}, out);
  while (!timers.empty() && std::get<0>(*timers.begin()) <= now) {
    auto [when, id, slot, kind] = *timers.begin();
    timers.erase(timers.begin());
    if (kind == assign_timer) {
      retry_assign(now, id, out);
      continue;
    }
    auto it = datasets.find(id);
    if (it == datasets.end()) continue;
    DatasetState& d = it->second;
    if (kind == claim_timer) {
      if (d.own_slot == slot && !d.stored && !d.claimed && d.claim_at <= now) make_claim(now, d, out);
      continue;
    }
    if (kind == own_claim_timer) {
      if (d.own_slot != slot || d.stored || !d.claimed || d.claim_expires != when) continue;
      // Our rebuild never reported: stop it and withdraw, as if it had failed.
      out.actions.push_back(CancelSlot{d.desc.id, slot});
      if (active_repairs > 0) active_repairs--;
      stats.claims_expired++;
      for (MemberHandle w : watchers_of(d)) send(w, Claim{d.desc.id, slot, true}, out);
      datasets.erase(it);
      continue;
    }
    if (slot >= d.slots.size()) continue;
    SlotState& s = d.slots[slot];
    if (s.repair_deadline != when) continue;
    if (s.health == SlotHealth::repairing && s.holder != me) {
      // The claimant has not heartbeated. Its first heartbeat (the one
      // that goes to every watcher) may have been lost, and its next one
      // comes a heartbeat interval later: audit it first, and give it up
      // only if it proves nothing within a few probe timeouts. Asking the
      // next ranks at once rebuilt many slots that were already rebuilt.
      if (!s.claimant_audited && s.holder != MemberDirectory::kNone && is_live(s.holder)) {
        s.claimant_audited = true;
        audit_member(now, d.desc.id, slot, s.holder, false, out, true);
        s.repair_deadline = now + 5 * scaled(config.probe_timeout);
        timers.emplace(s.repair_deadline, d.desc.id, slot, repair_timer);
        continue;
      }
      give_up_claimant(now, d, slot, out);
    } else if (s.health == SlotHealth::confirmed) {
      if (!s.restarting) s.repair_round++;
      request_repair(now, d, slot, out);
    }
  }
  for (auto it = audits.begin(); it != audits.end();) {
    if (now >= it->second.deadline) it = audits.erase(it);
    else ++it;
  }
  if (now >= next_heartbeat) {
    send_heartbeats(now, out, nullptr);
    next_heartbeat = now + config.heartbeat_interval;
  }
  if (now >= next_sweep) {
    sweep(now, out);
    next_sweep = now + std::max<Time>(1, config.heartbeat_interval / 4);
  }
}

void Node::Impl::give_up_claimant(Time now, DatasetState& d, std::uint32_t slot, Output& out) {
  SlotState& s = d.slots[slot];
  if (s.holder != MemberDirectory::kNone) s.failed_claimants.push_back(s.holder);
  count_loss(s);
  s.holder = MemberDirectory::kNone;
  s.health = SlotHealth::confirmed;
  s.claimant_audited = false;
  s.repair_round++;
  s.restarting = false;
  request_repair(now, d, slot, out);
}

void Node::Impl::acknowledged(const DatasetId& id, std::uint32_t slot, MemberHandle holder) {
  auto it = assigning.find(id);
  if (it == assigning.end() || slot >= it->second.awaiting.size() || it->second.awaiting[slot] != holder) return;
  it->second.awaiting[slot] = MemberDirectory::kNone;
  bool any = false;
  for (MemberHandle h : it->second.awaiting) any |= h != MemberDirectory::kNone;
  if (!any) assigning.erase(it);  // its timer finds nothing and is dropped
}

void Node::Impl::retry_assign(Time now, const DatasetId& id, Output& out) {
  auto it = assigning.find(id);
  if (it == assigning.end() || it->second.next > now) return;
  PendingAssign& p = it->second;
  if (departed || p.tries >= config.assign_tries) {
    // Given up: a holder still silent is found missing by the watchers.
    assigning.erase(it);
    return;
  }
  bool any = false;
  for (std::uint32_t i = 0; i < p.awaiting.size(); ++i) {
    MemberHandle h = p.awaiting[i];
    if (h == MemberDirectory::kNone) continue;
    if (!is_live(h)) {
      // Gone: its slot is the watchers' to repair.
      p.awaiting[i] = MemberDirectory::kNone;
      continue;
    }
    send(h, Assign{p.desc, i, p.holders}, out);
    any = true;
  }
  if (!any) {
    assigning.erase(it);
    return;
  }
  p.tries++;
  p.next = now + (config.assign_retry << std::min<std::uint32_t>(p.tries, 16));
  timers.emplace(p.next, id, 0, assign_timer);
}

Time Node::Impl::storage_deadline() const {
  if (!unprovable.empty()) return 0;
  Time t = std::min(next_heartbeat, next_sweep);
  if (!timers.empty()) t = std::min(t, std::get<0>(*timers.begin()));
  for (const auto& [seq, a] : audits) t = std::min(t, a.deadline);
  return t;
}

}  // namespace codex::protocol
