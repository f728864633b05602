// Membership and failure detection: SWIM with Lifeguard's refinements, as
// hashicorp/memberlist implements them, with admission on top.
//
//  - Probes: every probe interval one random live member gets a Ping; no Ack
//    within the probe timeout and `indirect_checks` members are asked to ping
//    it (PingReq); they answer Nack if they cannot reach it either.
//  - Suspicion: a failed probe makes the target suspect; the timeout starts
//    at suspicion_max_timeout_multiplier * min and shrinks logarithmically
//    toward min = suspicion_multiplier * max(1, log10 N) * probe interval as
//    independent members confirm; at expiry the member is declared dead. A
//    suspected member refutes by raising its incarnation.
//    Whatever we send a suspect carries the suspicion (Lifeguard's buddy
//    system), so that it can refute.
//  - Local health (Lifeguard): failed probes with missing Nacks and having to
//    refute raise an awareness score that stretches our own timeouts and
//    probe interval, so a slow member stops accusing healthy ones.
//  - Dissemination: updates ride on membership messages (max_piggyback
//    each), each retransmitted retransmit_multiplier * ceil(log10(N+1)) times
//    (refutations twice that); optional dedicated gossip rounds, at once when
//    news arrives and every gossip interval while the queue holds any.
//  - Anti-entropy: every sync interval, digests of the view in buckets (by
//    point prefix) are exchanged with a random member, and only differing
//    buckets' records are sent, so a converged community pays two small
//    messages per sync.
//  - Admission: an alive record counts only with a valid certificate for the
//    member and the member's own signature; revocations are gossiped and
//    exchanged in anti-entropy, and make a member revoked for good.
#include <algorithm>
#include <cmath>

#include "node_impl.hpp"

namespace codex::protocol {
namespace {

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t prefix64(const Digest& d) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | d[i];
  return v;
}

std::uint64_t bytes_hash(ByteView bytes) { return prefix64(sha256(bytes)); }

}  // namespace

void Suspicion::update_deadline() {
  Time timeout = min_timeout;
  std::size_t confirmations = accusers.empty() ? 0 : accusers.size() - 1;
  if (expected_confirmations > 0) {
    double frac = std::log(double(confirmations) + 1.0) / std::log(double(expected_confirmations) + 1.0);
    double t = double(max_timeout) - double(max_timeout - min_timeout) * std::min(frac, 1.0);
    timeout = std::max(min_timeout, Time(std::floor(t)));
  }
  cached_deadline = start + timeout;
}

// --- Records --------------------------------------------------------------

Update Node::Impl::own_alive() const {
  Update u;
  u.kind = UpdateKind::alive;
  u.member = self.id;
  u.incarnation = incarnation;
  if (const auto* r = directory->record(me, incarnation, false)) {
    u.addresses = r->addresses;
    u.certificate = r->certificate;
    u.signature = r->signature;
  }
  return u;
}

static void remember_own(Node::Impl& s, Time now, bool left) {
  Update u;
  u.kind = left ? UpdateKind::left : UpdateKind::alive;
  u.member = s.self.id;
  u.incarnation = s.incarnation;
  if (!left) u.addresses = s.self.addresses;
  MemberDirectory::Record r;
  r.incarnation = s.incarnation;
  r.left = left;
  r.addresses = u.addresses;
  r.certificate = s.self.certificate;
  r.signature = s.crypto.sign(alive_signing_bytes(u));
  if (auto a = s.crypto.check_certificate(s.self.id, s.self.certificate, now)) r.admission = *a;
  s.directory->remember(s.me, std::move(r));
}

std::uint64_t Node::Impl::record_hash(MemberHandle h, const MemberEntry& e) const {
  MemberStatus st = MemberStatus(e.status);
  std::uint64_t cls = protocol::is_live(st) ? 1 : std::uint64_t(st);
  return splitmix(prefix64(directory->point(h)) ^ splitmix((std::uint64_t(e.incarnation) << 8) | cls));
}

std::uint64_t Node::Impl::own_record_hash() const {
  return record_hash(me, MemberEntry{incarnation, std::uint8_t(MemberStatus::alive)});
}

std::size_t Node::Impl::bucket_of(MemberHandle h) const {
  unsigned bits = std::countr_zero(bucket_digests.size());
  return bits == 0 ? 0 : directory->point(h)[0] >> (8 - bits);
}

std::uint32_t Node::Impl::retransmit_limit() const {
  double n = double(live_count());
  return config.retransmit_multiplier * std::uint32_t(std::ceil(std::log10(n + 1.0)));
}

void Node::Impl::broadcast(Update update, std::uint8_t weight) {
  QueuedUpdate q;
  q.kind = update.kind;
  q.weight = std::max<std::uint8_t>(1, weight);
  q.order = broadcast_order++;
  if (update.kind == UpdateKind::revocation) {
    q.revocation = std::make_shared<const Bytes>(std::move(update.revocation));
  } else {
    q.about = directory->intern(update.member);
    q.incarnation = update.incarnation;
    if (update.kind == UpdateKind::suspect || update.kind == UpdateKind::dead) q.accuser = directory->intern(update.accuser);
    // One entry per member: the newer record replaces the queued one.
    std::erase_if(broadcasts, [&](const QueuedUpdate& o) { return o.kind != UpdateKind::revocation && o.about == q.about; });
  }
  // Fresh entries have the fewest transmits: they go after the others with none.
  auto at = std::find_if(broadcasts.begin(), broadcasts.end(), [](const QueuedUpdate& o) { return o.transmits > 0; });
  broadcasts.insert(at, std::move(q));
  if (broadcasts.size() > kMaxBroadcasts) broadcasts.resize(kMaxBroadcasts);
}

std::vector<Update> Node::Impl::piggyback() {
  std::vector<Update> out;
  if (broadcasts.empty()) return out;
  std::uint32_t limit = std::max<std::uint32_t>(1, retransmit_limit());
  std::size_t taken = 0;
  for (std::size_t i = 0; i < broadcasts.size() && out.size() < config.max_piggyback; ++i) {
    QueuedUpdate& q = broadcasts[i];
    Update u;
    u.kind = q.kind;
    bool ok = true;
    if (q.kind == UpdateKind::revocation) {
      u.revocation = *q.revocation;
    } else {
      u.member = directory->id(q.about);
      u.incarnation = q.incarnation;
      if (q.kind == UpdateKind::alive || q.kind == UpdateKind::left) {
        const auto* r = directory->record(q.about, q.incarnation, q.kind == UpdateKind::left);
        ok = r != nullptr;  // a record superseded meanwhile (its newer one is queued instead)
        if (r) {
          if (q.kind == UpdateKind::alive) {
            u.addresses = r->addresses;
            u.certificate = r->certificate;
          }
          u.signature = r->signature;
        }
      } else {
        u.accuser = directory->id(q.accuser);
      }
    }
    if (ok) out.push_back(std::move(u));
    q.transmits = ok ? q.transmits + 1 : limit * q.weight;
    taken = i + 1;
  }
  // The entries sent move back by their transmit count; spent ones leave.
  std::vector<QueuedUpdate> sent(std::make_move_iterator(broadcasts.begin()),
                                 std::make_move_iterator(broadcasts.begin() + std::ptrdiff_t(taken)));
  broadcasts.erase(broadcasts.begin(), broadcasts.begin() + std::ptrdiff_t(taken));
  for (QueuedUpdate& q : sent) {
    if (q.transmits >= limit * q.weight) continue;
    auto at = std::upper_bound(broadcasts.begin(), broadcasts.end(), q, [](const QueuedUpdate& a, const QueuedUpdate& b) {
      return std::tie(a.transmits, a.order) < std::tie(b.transmits, b.order);
    });
    broadcasts.insert(at, std::move(q));
  }
  return out;
}

void Node::Impl::adjust_awareness(int delta) {
  long v = long(awareness) + delta;
  awareness = std::uint32_t(std::clamp<long>(v, 0, config.awareness_max));
}

MemberHandle Node::Impl::random_live_member(MemberHandle exclude) {
  auto live = ring.members();
  // (The ring holds exactly the live members: is_live answers "in the ring"
  // without a search.)
  std::size_t others = live.size() - (is_live(me) ? 1 : 0) - (exclude != MemberDirectory::kNone && exclude != me && is_live(exclude) ? 1 : 0);
  if (others == 0) return MemberDirectory::kNone;
  for (int attempt = 0; attempt < 32; ++attempt) {
    MemberHandle h = live[random(live.size())];
    if (h != me && h != exclude) return h;
  }
  for (MemberHandle h : live)
    if (h != me && h != exclude) return h;
  return MemberDirectory::kNone;
}

bool Node::Impl::revoked(const MemberId& member, std::uint64_t serial) const {
  // A revocation of serial s covers the member's certificates up to s.
  auto it = revocations.lower_bound(std::make_pair(member, serial));
  return it != revocations.end() && it->first.first == member;
}

void Node::Impl::add_suspicion_notice(MemberHandle to, std::vector<Update>& updates) const {
  // Lifeguard's buddy system (memberlist's probeNode does the same): what we
  // send a member we suspect tells it so, whether or not the suspicion is
  // still in our queue. Without it a suspect learns of the suspicion only if
  // one of the few gossip messages that carry it happens to go to it: at 20
  // members and 10% loss, now and then none did, and a live member that
  // never heard it was suspected could not refute before it was declared
  // dead (tests/protocol/failure_detection_test.cpp).
  auto it = suspicions.find(to);
  if (it == suspicions.end() || it->second.accusers.empty()) return;
  const MemberId& id = directory->id(to);
  for (const Update& u : updates)
    if (u.kind == UpdateKind::suspect && u.member == id && u.incarnation == it->second.incarnation) return;
  updates.push_back(Update{UpdateKind::suspect, id, it->second.incarnation, directory->id(it->second.accusers.front()),
                           {}, {}, {}, {}});
}

// --- Status changes -----------------------------------------------------------

void Node::Impl::set_status(Time now, MemberHandle h, MemberStatus status, std::uint32_t inc, Output& out) {
  MemberEntry& e = entry(h);
  MemberStatus old = MemberStatus(e.status);
  bool had = e.status != 0;
  if (had) bucket_digests[bucket_of(h)] ^= record_hash(h, e);
  e.status = std::uint8_t(status);
  e.incarnation = inc;
  bucket_digests[bucket_of(h)] ^= record_hash(h, e);
  bool was_live = had && protocol::is_live(old);
  bool now_live = protocol::is_live(status);
  if (now_live != was_live) live_epoch++;  // cached holder circles are stale
  if (now_live && !was_live) ring.insert(h);
  if (!now_live && was_live) ring.erase(h);
  if (status != MemberStatus::suspect && suspicions.erase(h)) suspicion_dirty = true;
  if (status == MemberStatus::dead && !(had && old == MemberStatus::dead)) dead_members.push_back(h);
  if (had && old == MemberStatus::dead && status != MemberStatus::dead) std::erase(dead_members, h);
  bool was_gone = had && (old == MemberStatus::dead || old == MemberStatus::left);
  bool is_gone = status == MemberStatus::dead || status == MemberStatus::left;
  if (is_gone && !was_gone) gone_members.push_back(h);
  if (was_gone && !is_gone) std::erase(gone_members, h);
  if (!had || old != status) {
    MemberChanged change{directory->id(h), status, {}};
    if (const auto* r = directory->record(h, inc, false)) change.addresses = r->addresses;
    out.actions.push_back(std::move(change));
  }
  if (was_live && !now_live) member_gone(now, h, out);
  if (had && !was_live && now_live) member_returned(now, h, out);
}

void Node::Impl::refute(Time now, std::uint32_t accused) {
  bucket_digests[bucket_of(me)] ^= own_record_hash();
  incarnation = std::max(incarnation, accused) + 1;
  bucket_digests[bucket_of(me)] ^= own_record_hash();
  remember_own(*this, now, false);
  broadcast(own_alive(), kRefutationWeight);
  alive_pings_left = kAlivePings;
  adjust_awareness(1);
  stats.refutations++;
}

void Node::Impl::suspect(Time now, MemberHandle h, std::uint32_t inc, MemberHandle accuser, Output& out) {
  MemberEntry& e = entry(h);
  MemberStatus st = MemberStatus(e.status);
  if (st == MemberStatus::suspect && e.incarnation == inc) {
    auto it = suspicions.find(h);
    if (it == suspicions.end()) return;
    auto& acc = it->second.accusers;
    if (std::find(acc.begin(), acc.end(), accuser) != acc.end()) return;
    acc.push_back(accuser);  // an independent confirmation: shrinks the timeout
    it->second.update_deadline();
    suspicion_dirty = true;
    Update u{UpdateKind::suspect, directory->id(h), inc, directory->id(accuser), {}, {}, {}, {}};
    broadcast(std::move(u));
    return;
  }
  if (st != MemberStatus::alive && !(st == MemberStatus::suspect && inc > e.incarnation)) return;
  std::size_t n = std::max<std::size_t>(live_count(), 1);
  double log_n = std::max(1.0, std::log10(double(n)));
  Suspicion s;
  s.incarnation = inc;
  s.start = now;
  s.min_timeout = Time(double(config.suspicion_multiplier) * log_n * double(config.probe_interval));
  s.max_timeout = s.min_timeout * std::max<Time>(1, config.suspicion_max_timeout_multiplier);
  std::uint32_t k = config.suspicion_multiplier >= 2 ? config.suspicion_multiplier - 2 : 0;
  s.expected_confirmations = (n < std::size_t(k) + 2) ? 0 : k;
  s.accusers.push_back(accuser);
  s.update_deadline();
  set_status(now, h, MemberStatus::suspect, inc, out);
  suspicions[h] = std::move(s);
  suspicion_dirty = true;
  stats.suspicions_raised++;
  broadcast(Update{UpdateKind::suspect, directory->id(h), inc, directory->id(accuser), {}, {}, {}, {}});
}

// --- Applying membership records ---------------------------------------------

void Node::Impl::apply_updates(Time now, const std::vector<Update>& updates, Output& out, MemberHandle sync_sender) {
  for (const Update& u : updates) apply(now, u, out, sync_sender);
}

void Node::Impl::apply(Time now, const Update& u, Output& out, MemberHandle sync_sender) {
  const bool from_sync = sync_sender != MemberDirectory::kNone;
  if (u.kind == UpdateKind::revocation) {
    auto facts = crypto.check_revocation(u.revocation, now);
    if (!facts) {
      stats.refused++;
      stats.refused_signature++;
      return;
    }
    auto key = std::make_pair(facts->member, facts->serial);
    if (revocations.count(key)) return;
    bool widens = !revoked(facts->member, facts->serial);
    revocations_digest ^= bytes_hash(u.revocation);
    revocations.emplace(key, u.revocation);
    if (!widens) return;  // an older, narrower revocation: kept for anti-entropy only
    broadcast(u);
    MemberHandle h = directory->find(facts->member);
    if (h == me) {
      if (auto* r = directory->record(me, incarnation, false); r && r->admission.serial <= facts->serial) {
        departed = true;  // revoked: this node is no member any more
        live_epoch++;
      }
      return;
    }
    if (h == MemberDirectory::kNone) return;
    const MemberEntry* e = find_entry(h);
    if (!e) return;
    const auto* r = directory->record(h, e->incarnation, false);
    if (r && r->admission.serial <= facts->serial) set_status(now, h, MemberStatus::revoked, e->incarnation, out);
    return;
  }

  MemberHandle h = directory->intern(u.member);
  if (h == me) {
    // Someone speaks about us: refute any accusation at our incarnation or later.
    if ((u.kind == UpdateKind::suspect || u.kind == UpdateKind::dead) && u.incarnation >= incarnation && !departed)
      refute(now, u.incarnation);
    if (u.kind == UpdateKind::alive && u.incarnation > incarnation && !departed) refute(now, u.incarnation);
    return;
  }
  MemberEntry& e = entry(h);
  MemberStatus st = MemberStatus(e.status);
  if (e.status != 0 && st == MemberStatus::revoked) return;
  // Records of someone else's whole view are not news to pass on: anti-
  // entropy spreads them (every member syncs), and re-gossiping a joiner's
  // full view would flood every queue. A sender's own record is news.
  const bool news = !from_sync || h == sync_sender;

  switch (u.kind) {
    case UpdateKind::alive: {
      if (e.status != 0 && u.incarnation <= e.incarnation) return;
      const auto* known = directory->record(h, u.incarnation, false);
      Admission admission;
      if (known && known->signature == u.signature && known->certificate == u.certificate &&
          known->addresses == u.addresses) {
        admission = known->admission;
      } else {
        auto a = crypto.check_certificate(u.member, u.certificate, now);
        if (!a) {
          stats.refused++;
          stats.refused_non_member++;
          return;
        }
        if (!crypto.verify(u.member, alive_signing_bytes(u), u.signature)) {
          stats.refused++;
          stats.refused_signature++;
          return;
        }
        admission = *a;
        directory->remember(h, MemberDirectory::Record{u.incarnation, false, u.addresses, u.certificate,
                                                       u.signature, admission});
      }
      if (admission.expires <= now) {
        stats.refused++;
        stats.refused_non_member++;
        return;
      }
      if (revoked(u.member, admission.serial)) {
        set_status(now, h, MemberStatus::revoked, u.incarnation, out);
        return;
      }
      if (admission.expires != kNever) cert_expiry[h] = admission.expires;
      set_status(now, h, MemberStatus::alive, u.incarnation, out);
      // An alive record that clears a suspicion (or a death) is a
      // refutation: a member it misses keeps the suspicion and declares a
      // live member dead when it runs out, so it goes out more often.
      if (news) broadcast(u, st == MemberStatus::suspect || st == MemberStatus::dead ? kRefutationWeight : 1);
      return;
    }
    case UpdateKind::suspect: {
      if (e.status == 0 || u.incarnation < e.incarnation) return;
      suspect(now, h, u.incarnation, directory->intern(u.accuser), out);
      return;
    }
    case UpdateKind::dead: {
      if (e.status != 0 && (u.incarnation < e.incarnation || !protocol::is_live(st))) return;
      // A death learned by anti-entropy is someone else's old verdict (the
      // other side of a healed partition declared our side dead): as
      // memberlist's push-pull merge does, suspect the member instead, so
      // that it can refute before its slots are given up.
      if (from_sync && e.status != 0) {
        suspect(now, h, u.incarnation, directory->intern(u.accuser), out);
        return;
      }
      set_status(now, h, MemberStatus::dead, u.incarnation, out);
      if (news) broadcast(u);
      return;
    }
    case UpdateKind::left: {
      if (e.status != 0 && (u.incarnation < e.incarnation || st == MemberStatus::left)) return;
      const auto* known = directory->record(h, u.incarnation, true);
      if (!(known && known->signature == u.signature)) {
        if (!crypto.verify(u.member, alive_signing_bytes(u), u.signature)) {
          stats.refused++;
          stats.refused_signature++;
          return;
        }
        directory->remember(h, MemberDirectory::Record{u.incarnation, true, {}, {}, u.signature, {}});
      }
      set_status(now, h, MemberStatus::left, u.incarnation, out);
      if (news) broadcast(u);
      return;
    }
    case UpdateKind::revocation: return;
  }
}

// --- Joining and leaving ---------------------------------------------------------

void Node::Impl::start(Time now, std::span<const Contact> seeds, Output& out) {
  if (joined) return;
  joined = true;
  live_epoch++;
  remember_own(*this, now, false);
  // Our own record counts in our digests as it does in everyone else's, so
  // that two converged views have equal digests.
  bucket_digests[bucket_of(me)] ^= own_record_hash();
  ring.insert(me);
  next_probe = now + Time(random(std::uint64_t(std::max<Time>(1, config.probe_interval))));
  next_sync = now + Time(random(std::uint64_t(std::max<Time>(1, config.sync_interval))));
  next_heartbeat = now + Time(random(std::uint64_t(std::max<Time>(1, config.heartbeat_interval))));
  next_sweep = now + config.heartbeat_interval / 4;
  broadcast(own_alive());
  alive_pings_left = kAlivePings;
  for (const Contact& c : seeds)
    if (c.id != self.id && join_seeds.size() < 3) join_seeds.push_back(directory->intern(c.id));
  ask_seeds(out);
}

void Node::Impl::ask_seeds(Output& out) {
  // One seed sends us its whole view; the others only learn of us (each
  // whole view of a large community is megabytes; if the one is lost, the
  // next sync interval asks again).
  bool first = true;
  for (MemberHandle h : join_seeds) {
    if (first) {
      SyncRequest request;
      request.revocations_digest = revocations_digest;
      request.updates.push_back(own_alive());
      send(h, request, out);
      first = false;
    } else {
      send(h, Gossip{{own_alive()}}, out);
    }
  }
}

void Node::Impl::depart(Time now, Output& out) {
  if (!joined || departed) return;
  remember_own(*this, now, true);
  const auto* r = directory->record(me, incarnation, true);
  Update u{UpdateKind::left, self.id, incarnation, {}, {}, {}, r ? r->signature : Bytes{}, {}};
  std::vector<MemberHandle> told;
  for (std::uint32_t i = 0; i < std::max<std::uint32_t>(config.gossip_fanout, 1) + 2; ++i) {
    MemberHandle h = random_live_member(MemberDirectory::kNone);
    if (h == MemberDirectory::kNone) break;
    if (std::find(told.begin(), told.end(), h) != told.end()) continue;
    told.push_back(h);
    send(h, Gossip{{u}}, out);
  }
  departed = true;
  live_epoch++;
}

// --- Probes -------------------------------------------------------------------------

void Node::Impl::on_ping(Time, MemberHandle from, const Ping& m, Output& out) {
  if (m.target != self.id) return;  // meant for someone else (stale address)
  send(from, Ack{m.seq, piggyback()}, out);
}

void Node::Impl::on_ack(Time, MemberHandle from, const Ack& m, Output& out) {
  if (probe && m.seq == probe->seq) {
    (void)from;
    adjust_awareness(-1);
    probe.reset();
    return;
  }
  auto it = relayed.find(m.seq);
  if (it != relayed.end()) {
    send(it->second.origin, Ack{it->second.origin_seq, piggyback()}, out);
    relayed.erase(it);
  }
}

void Node::Impl::on_ping_req(Time now, MemberHandle from, const PingReq& m, Output& out) {
  MemberHandle target = directory->intern(m.target);
  if (target == me || target == from || !is_member(target)) return;
  std::uint64_t seq = next_seq++;
  relayed[seq] = RelayedProbe{from, m.seq, now + scaled(config.probe_timeout)};
  Ping ping{seq, m.target, piggyback()};
  add_suspicion_notice(target, ping.updates);
  if (alive_pings_left > 0) ping.updates.push_back(own_alive());
  send(target, ping, out);
  stats.indirect_probes++;
}

void Node::Impl::on_nack(Time, MemberHandle, const Nack& m, Output&) {
  if (probe && m.seq == probe->seq) probe->nacks++;
}

void Node::Impl::start_probe(Time now, Output& out) {
  MemberHandle target = random_live_member(MemberDirectory::kNone);
  if (target == MemberDirectory::kNone) return;
  PendingProbe p;
  p.seq = next_seq++;
  p.target = target;
  p.direct_deadline = now + scaled(config.probe_timeout);
  probe = p;
  Ping ping{p.seq, directory->id(target), piggyback()};
  add_suspicion_notice(target, ping.updates);
  // The target may not know us yet: our first probes after joining or
  // refuting carry our alive record (a target that does not know us later
  // holds the ping and asks us for it, hold_unadmitted).
  if (alive_pings_left > 0) {
    alive_pings_left--;
    ping.updates.push_back(own_alive());
  }
  send(target, ping, out);
  stats.probes++;
}

Time Node::Impl::indirect_window() const {
  // As memberlist, a whole probe fits in one probe interval: indirect probes
  // are waited for until the interval ends. But at least 1.25 probe timeouts,
  // since a helper gives up on the target after one and its Nack must still
  // reach us (a Nack that comes late counts against our own health), and at
  // most two: with the storage defaults (30 s timeout, 30 min interval) the
  // verdict does not wait the rest of the interval.
  const Time timeout = scaled(config.probe_timeout);
  const Time rest = scaled(config.probe_interval) - timeout;
  return std::min(2 * timeout, std::max(timeout + timeout / 4, rest));
}

void Node::Impl::woke(Time now, Time away, Output& out) {
  // A node that was not running (its machine suspended or offline, its
  // process stopped) comes back with stale timers, and the others have had
  // the time away to suspect it or declare it dead.
  stats.wakeups++;
  // Nothing it could have heard while away would have cleared its
  // suspicions: the time away does not count towards them (expired at once,
  // they declared live members dead on the members' own evidence of nothing).
  for (auto& [h, s] : suspicions) {
    s.start += away;
    s.update_deadline();
  }
  suspicion_dirty = true;
  // Nor towards the heartbeats it watches: those sent while it was away
  // were lost to it, not missed by their holders.
  storage_woke(now, away);
  // Probes in flight: their answers, if any, came while it was away.
  probe.reset();
  relayed.clear();
  // Refute in advance: an alive record with a higher incarnation clears a
  // suspicion or a death wherever it arrives, and goes out now rather than
  // once some member happens to tell us we are suspected (a member that
  // came back only then refuted, and its refutation did not outrun the
  // suspicions still running: docs/protocol.md, "Coming back").
  refute(now, incarnation);
  const std::uint32_t fanout = std::max<std::uint32_t>(config.gossip_fanout, 1);
  std::vector<MemberHandle> told;
  for (std::uint32_t i = 0; i < fanout * 3 && told.size() < fanout; ++i) {
    MemberHandle h = random_live_member(MemberDirectory::kNone);
    if (h == MemberDirectory::kNone) break;
    if (std::find(told.begin(), told.end(), h) != told.end()) continue;
    told.push_back(h);
    send(h, Gossip{piggyback()}, out);
  }
  // And catch up on what happened meanwhile (a sync at once).
  next_sync = now;
}

void Node::Impl::membership_tick(Time now, Output& out) {
  // A probe was due more than a probe interval ago: this node was not
  // running. (The driver calls on_tick by next_deadline, which is never
  // later than next_probe.)
  if (joined && !departed && now - next_probe > scaled(config.probe_interval)) woke(now, now - next_probe, out);
  // A probe in flight: escalate to indirect probes, then suspect.
  if (probe && !probe->indirect_sent && now >= probe->direct_deadline) {
    std::vector<MemberHandle> helpers;
    for (std::uint32_t i = 0; i < config.indirect_checks * 3 && helpers.size() < config.indirect_checks; ++i) {
      MemberHandle h = random_live_member(probe->target);
      if (h == MemberDirectory::kNone) break;
      if (std::find(helpers.begin(), helpers.end(), h) == helpers.end()) helpers.push_back(h);
    }
    for (MemberHandle h : helpers) send(h, PingReq{probe->seq, directory->id(probe->target), piggyback()}, out);
    probe->indirect_sent = true;
    probe->expected_nacks = std::uint32_t(helpers.size());
    probe->indirect_deadline = now + indirect_window();
  }
  if (probe && probe->indirect_sent && now >= probe->indirect_deadline) {
    // Lifeguard: Nacks that did not come mean our own links are the problem.
    if (probe->expected_nacks > 0)
      adjust_awareness(int(probe->expected_nacks - std::min(probe->nacks, probe->expected_nacks)));
    else
      adjust_awareness(1);
    MemberHandle target = probe->target;
    probe.reset();
    if (const MemberEntry* e = find_entry(target); e && protocol::is_live(MemberStatus(e->status)))
      suspect(now, target, e->incarnation, me, out);
  }
  for (auto it = relayed.begin(); it != relayed.end();) {
    if (now >= it->second.deadline) {
      send(it->second.origin, Nack{it->second.origin_seq, piggyback()}, out);
      it = relayed.erase(it);
    } else {
      ++it;
    }
  }
  // Suspicions that ran out: the member is dead.
  std::vector<std::pair<MemberHandle, std::uint32_t>> expired;
  if (membership_suspicion_min() <= now)
    for (const auto& [h, s] : suspicions)
      if (now >= s.deadline()) expired.emplace_back(h, s.incarnation);
  for (auto [h, inc] : expired) {
    suspicions.erase(h);
    suspicion_dirty = true;
    set_status(now, h, MemberStatus::dead, inc, out);
    broadcast(Update{UpdateKind::dead, directory->id(h), inc, self.id, {}, {}, {}, {}});
    stats.deaths_declared++;
  }
  if (now >= next_probe) {
    if (!probe) start_probe(now, out);
    next_probe = now + scaled(config.probe_interval);
    // Certificates that expired: the member cannot show one any more.
    for (auto it = cert_expiry.begin(); it != cert_expiry.end();) {
      if (it->second <= now) {
        MemberHandle h = it->first;
        it = cert_expiry.erase(it);
        if (const MemberEntry* e = find_entry(h); e && protocol::is_live(MemberStatus(e->status)))
          set_status(now, h, MemberStatus::dead, e->incarnation, out);
      } else {
        ++it;
      }
    }
  }
  if (config.gossip_interval > 0 && !broadcasts.empty() && now >= next_gossip) {
    // gossip_fanout distinct random members (as memberlist's kRandomNodes).
    std::vector<MemberHandle> targets;
    for (std::uint32_t i = 0; i < config.gossip_fanout * 3 && targets.size() < config.gossip_fanout; ++i) {
      MemberHandle h = random_live_member(MemberDirectory::kNone);
      if (h == MemberDirectory::kNone) break;
      if (std::find(targets.begin(), targets.end(), h) == targets.end()) targets.push_back(h);
    }
    for (MemberHandle h : targets) {
      if (broadcasts.empty()) break;
      Gossip gossip{piggyback()};
      add_suspicion_notice(h, gossip.updates);
      send(h, gossip, out);
    }
    next_gossip = now + config.gossip_interval;
  } else if (config.gossip_interval > 0 && broadcasts.empty()) {
    next_gossip = std::max(next_gossip, now);
  }
  if (now >= next_sync) {
    // Still alone: the join was lost. Ask the seeds again.
    if (ring.size() <= 1 && !join_seeds.empty()) {
      std::rotate(join_seeds.begin(), join_seeds.begin() + 1, join_seeds.end());
      ask_seeds(out);
    }
    // One sync in four goes to a member we declared dead, as Serf reconnects:
    // after a partition heals, this is how the two sides find each other.
    MemberHandle h = MemberDirectory::kNone;
    if (!dead_members.empty() && random(4) == 0) h = dead_members[random(dead_members.size())];
    else h = random_live_member(MemberDirectory::kNone);
    if (h != MemberDirectory::kNone) {
      send(h, SyncRequest{bucket_digests, revocations_digest, {}}, out);
      stats.syncs++;
    }
    // +-10% jitter keeps members from synchronising their syncs.
    Time jitter = config.sync_interval / 10;
    next_sync = now + config.sync_interval - jitter + Time(random(std::uint64_t(2 * jitter + 1)));
  }
}

Time Node::Impl::membership_deadline() const {
  Time t = std::min(next_probe, next_sync);
  if (probe) t = std::min(t, probe->indirect_sent ? probe->indirect_deadline : probe->direct_deadline);
  for (const auto& [seq, r] : relayed) t = std::min(t, r.deadline);
  t = std::min(t, membership_suspicion_min());
  if (config.gossip_interval > 0 && !broadcasts.empty()) t = std::min(t, next_gossip);
  return t;
}

Time Node::Impl::membership_suspicion_min() const {
  if (suspicion_dirty) {
    suspicion_min = kNever;
    for (const auto& [h, s] : suspicions) suspicion_min = std::min(suspicion_min, s.deadline());
    suspicion_dirty = false;
  }
  return suspicion_min;
}

// --- Anti-entropy ------------------------------------------------------------------

std::vector<Update> Node::Impl::records_of_buckets(const std::vector<bool>& wanted) const {
  std::vector<Update> out;
  auto add = [&](MemberHandle h) {
    if (h == me) return;
    const MemberEntry& e = members[h];
    MemberStatus st = MemberStatus(e.status);
    const MemberId& id = directory->id(h);
    switch (st) {
      case MemberStatus::alive:
      case MemberStatus::suspect:
        if (const auto* r = directory->record(h, e.incarnation, false)) {
          out.push_back(Update{UpdateKind::alive, id, e.incarnation, {}, r->addresses, r->certificate, r->signature, {}});
          auto s = suspicions.find(h);
          if (st == MemberStatus::suspect && s != suspicions.end() && !s->second.accusers.empty())
            out.push_back(Update{UpdateKind::suspect, id, e.incarnation, directory->id(s->second.accusers.front()), {}, {}, {}, {}});
        }
        break;
      case MemberStatus::dead:
        out.push_back(Update{UpdateKind::dead, id, e.incarnation, self.id, {}, {}, {}, {}});
        break;
      case MemberStatus::left:
        if (const auto* r = directory->record(h, e.incarnation, true))
          out.push_back(Update{UpdateKind::left, id, e.incarnation, {}, {}, {}, r->signature, {}});
        break;
      case MemberStatus::revoked: break;  // carried by the revocations themselves
    }
  };
  // Live members of a bucket are one contiguous range of the ring (sorted by
  // point, bucketed by its top bits); the others are in the short gone list.
  auto live = ring.members();
  std::size_t at = 0;
  for (std::size_t b = 0; b < wanted.size(); ++b) {
    while (at < live.size() && bucket_of(live[at]) < b) ++at;
    while (at < live.size() && bucket_of(live[at]) == b) {
      if (wanted[b]) add(live[at]);
      ++at;
    }
  }
  for (MemberHandle h : gone_members)
    if (wanted[bucket_of(h)]) add(h);
  if (joined && !departed && wanted[bucket_of(me)]) out.push_back(own_alive());
  return out;
}

std::vector<Update> Node::Impl::revocation_records() const {
  std::vector<Update> out;
  for (const auto& [key, bytes] : revocations) {
    Update u;
    u.kind = UpdateKind::revocation;
    u.revocation = bytes;
    out.push_back(std::move(u));
  }
  return out;
}

void Node::Impl::on_sync_request(Time, MemberHandle from, const SyncRequest& m, Output& out) {
  SyncState reply;
  bool all = m.digests.size() != bucket_digests.size();
  bool any = false;
  std::vector<bool> wanted(bucket_digests.size());
  for (std::size_t b = 0; b < bucket_digests.size(); ++b)
    if (all || m.digests[b] != bucket_digests[b]) wanted[b] = any = true;
  if (any) reply.updates = records_of_buckets(wanted);
  if (m.revocations_digest != revocations_digest) {
    auto records = revocation_records();
    reply.updates.insert(reply.updates.end(), records.begin(), records.end());
    any = true;
  }
  if (!any) return;  // views agree: one small message was the whole cost
  reply.digests = bucket_digests;
  reply.revocations_digest = revocations_digest;
  send(from, reply, out);
}

void Node::Impl::on_sync_state(Time, MemberHandle from, const SyncState& m, Output& out) {
  if (m.digests.empty()) return;
  SyncState reply;
  bool all = m.digests.size() != bucket_digests.size();
  bool any = false;
  std::vector<bool> wanted(bucket_digests.size());
  for (std::size_t b = 0; b < bucket_digests.size(); ++b)
    if (all || m.digests[b] != bucket_digests[b]) wanted[b] = any = true;
  if (any) reply.updates = records_of_buckets(wanted);
  if (m.revocations_digest != revocations_digest) {
    auto records = revocation_records();
    reply.updates.insert(reply.updates.end(), records.begin(), records.end());
  }
  if (!reply.updates.empty()) send(from, reply, out);
}

}  // namespace codex::protocol
