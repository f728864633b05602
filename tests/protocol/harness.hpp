// A tiny in-test world for the protocol core: a few nodes, a queue of
// messages in flight over a virtual clock, loss and partitions, and cheap
// deterministic stand-ins for signatures, admission and storage proofs
// (keyed hashes, so forging one still needs the signer's secret).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "codex/protocol/node.hpp"
#include "codex/random.hpp"
#include "codex/sha256.hpp"

namespace codex::protocol::test {

inline MemberId make_id(std::uint32_t n) {
  MemberId id{};
  Digest d = sha256(as_bytes("member-" + std::to_string(n)));
  std::copy(d.begin(), d.end(), id.begin());
  return id;
}

inline Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Signatures are SHA-256(secret(signer) ‖ message); secrets live here.
struct KeyRing {
  std::map<MemberId, Bytes> secrets;
  std::set<std::pair<MemberId, std::uint64_t>> issued;  // certificates the owner issued
  Bytes owner_secret = Bytes{1, 2, 3, 4};
  Bytes secret_of(const MemberId& id) {
    auto it = secrets.find(id);
    if (it == secrets.end()) it = secrets.emplace(id, Bytes(id.begin(), id.begin() + 8)).first;
    return it->second;
  }
  // A certificate: "cert" ‖ member ‖ serial(8) ‖ expires(8) ‖ owner MAC.
  Bytes certificate(const MemberId& id, std::uint64_t serial, Time expires = kNever) {
    Bytes body = concat({as_bytes("cert"), ByteView(id.data(), 32)});
    for (int i = 7; i >= 0; --i) body.push_back(std::uint8_t(serial >> (8 * i)));
    for (int i = 7; i >= 0; --i) body.push_back(std::uint8_t(std::uint64_t(expires) >> (8 * i)));
    Digest mac = sha256(concat({owner_secret, body}));
    body.insert(body.end(), mac.begin(), mac.end());
    return body;
  }
  Bytes revocation(const MemberId& id, std::uint64_t serial) {
    Bytes body = concat({as_bytes("revk"), ByteView(id.data(), 32)});
    for (int i = 7; i >= 0; --i) body.push_back(std::uint8_t(serial >> (8 * i)));
    Digest mac = sha256(concat({owner_secret, body}));
    body.insert(body.end(), mac.begin(), mac.end());
    return body;
  }
};

class TestCrypto : public Crypto {
 public:
  TestCrypto(KeyRing& keys, MemberId self) : keys_(keys), self_(self) {}
  Bytes sign(ByteView message) override {
    Digest d = sha256(concat({keys_.secret_of(self_), message}));
    return Bytes(d.begin(), d.end());
  }
  bool verify(const MemberId& signer, ByteView message, ByteView signature) override {
    Digest d = sha256(concat({keys_.secret_of(signer), message}));
    return signature.size() == 32 && std::equal(d.begin(), d.end(), signature.begin());
  }
  Result<Admission> check_certificate(const MemberId& member, ByteView cert, Time now) override {
    if (cert.size() != 4 + 32 + 16 + 32) return make_error(Errc::rejected, "bad certificate size");
    ByteView body = cert.first(cert.size() - 32);
    Digest mac = sha256(concat({keys_.owner_secret, body}));
    if (!std::equal(mac.begin(), mac.end(), cert.begin() + body.size())) return make_error(Errc::rejected, "bad owner signature");
    if (!std::equal(member.begin(), member.end(), cert.begin() + 4)) return make_error(Errc::rejected, "certificate for another member");
    Admission a;
    for (int i = 0; i < 8; ++i) a.serial = a.serial << 8 | cert[36 + i];
    std::uint64_t e = 0;
    for (int i = 0; i < 8; ++i) e = e << 8 | cert[44 + i];
    a.expires = Time(e);
    if (a.expires <= now) return make_error(Errc::rejected, "certificate expired");
    return a;
  }
  Result<RevocationFacts> check_revocation(ByteView rev, Time) override {
    if (rev.size() != 4 + 32 + 8 + 32) return make_error(Errc::rejected, "bad revocation size");
    ByteView body = rev.first(rev.size() - 32);
    Digest mac = sha256(concat({keys_.owner_secret, body}));
    if (!std::equal(mac.begin(), mac.end(), rev.begin() + body.size())) return make_error(Errc::rejected, "bad owner signature");
    RevocationFacts f;
    std::copy_n(rev.begin() + 4, 32, f.member.begin());
    for (int i = 0; i < 8; ++i) f.serial = f.serial << 8 | rev[36 + i];
    return f;
  }

 private:
  KeyRing& keys_;
  MemberId self_;
};

// Proofs: SHA-256("proof" ‖ dataset ‖ slot ‖ challenge); only a holder of
// the slot (in `held`) can make one.
class TestProofs : public ProofSystem {
 public:
  std::set<std::pair<DatasetId, std::uint32_t>> held;
  static Bytes expected(const DatasetId& d, std::uint32_t slot, ByteView challenge) {
    Bytes in = concat({as_bytes("proof"), ByteView(d.data(), 32)});
    in.push_back(std::uint8_t(slot));
    in.insert(in.end(), challenge.begin(), challenge.end());
    Digest h = sha256(in);
    return Bytes(h.begin(), h.end());
  }
  Result<Bytes> prove(const DatasetId& d, std::uint32_t slot, ByteView challenge) override {
    if (!held.count({d, slot})) return make_error(Errc::not_found, "slot not held");
    return expected(d, slot, challenge);
  }
  Status check(const DatasetId& d, std::uint32_t slot, ByteView challenge, ByteView proof) override {
    Bytes e = expected(d, slot, challenge);
    if (proof.size() != e.size() || !std::equal(e.begin(), e.end(), proof.begin()))
      return make_error(Errc::rejected, "proof does not match");
    return {};
  }
};

struct Member {
  MemberId id;
  std::unique_ptr<Crypto> crypto;
  std::unique_ptr<TestProofs> proofs;
  std::unique_ptr<Node> node;
  bool up = true;
  std::vector<Action> actions;  // every action the node asked for
};

// Nodes, a virtual clock and a network. Messages take `latency` ms; each is
// dropped with probability loss_percent; `cut` pairs cannot talk.
class Cluster {
 public:
  explicit Cluster(Config config, std::uint64_t seed = 1) : config_(config), rng_(seed) {}
  KeyRing keys;
  std::vector<Member> members;
  Time now = 0;
  Time latency = 20;
  std::uint32_t loss_percent = 0;
  std::set<std::pair<std::size_t, std::size_t>> cut;
  // Automatically do fetch/rebuild actions after this delay (SlotStored).
  bool auto_store = true;
  Time store_delay = 10 * kSecond;
  std::uint64_t delivered = 0;
  // Messages this says to drop (from, to, payload) are lost.
  std::function<bool(std::size_t, std::size_t, ByteView)> drop_if;

  // Real crypto instead of the stand-ins: gives member i its id, certificate and Crypto.
  struct Identity {
    MemberId id;
    Bytes certificate;
    std::unique_ptr<Crypto> crypto;
  };
  std::function<Identity(std::size_t)> identity_factory;
  // Where members added from now on draw nonces and challenges (Node's `secrets`).
  Random* secrets = nullptr;

  std::size_t add(std::uint64_t serial = 1) {
    std::size_t i = members.size();
    Member m;
    Bytes certificate;
    if (identity_factory) {
      Identity identity = identity_factory(i);
      m.id = identity.id;
      certificate = std::move(identity.certificate);
      m.crypto = std::move(identity.crypto);
    } else {
      m.id = make_id(std::uint32_t(i));
      m.crypto = std::make_unique<TestCrypto>(keys, m.id);
      certificate = keys.certificate(m.id, serial);
    }
    m.proofs = std::make_unique<TestProofs>();
    SelfIdentity self{m.id, certificate, {}};
    m.node = std::make_unique<Node>(config_, self, *m.crypto, *m.proofs, 1000 + i, nullptr, secrets);
    members.push_back(std::move(m));
    return i;
  }
  void join(std::size_t i, std::vector<std::size_t> seeds) {
    std::vector<Contact> contacts;
    for (auto s : seeds) contacts.push_back(Contact{members[s].id, {}});
    Output out;
    members[i].node->join(now, contacts, out);
    absorb(i, out);
  }
  // Member i's process restarts (stand-in crypto only): a new Node with the
  // same identity and storage, whose heartbeat sequence and incarnation
  // start from the clock (as the daemon's do), joining through `seeds`.
  void restart(std::size_t i, std::vector<std::size_t> seeds) {
    Member& m = members[i];
    SelfIdentity self{m.id, keys.certificate(m.id, 1), {}};
    self.first_heartbeat_seq = std::uint64_t(now) * 1000 + 1;
    self.first_incarnation = std::uint32_t(now / 1000 + 1);
    m.node = std::make_unique<Node>(config_, self, *m.crypto, *m.proofs, 5000 + i, nullptr, secrets);
    m.up = true;
    join(i, std::move(seeds));
  }
  void local(std::size_t i, const LocalEvent& e) {
    Output out;
    members[i].node->on_local(now, e, out);
    absorb(i, out);
  }
  std::size_t index_of(const MemberId& id) const {
    for (std::size_t i = 0; i < members.size(); ++i)
      if (members[i].id == id) return i;
    return SIZE_MAX;
  }
  bool partitioned(std::size_t a, std::size_t b) const {
    return cut.count({std::min(a, b), std::max(a, b)}) > 0;
  }
  // Runs the world until `until`.
  void run_until(Time until) {
    for (;;) {
      Time next = until;
      if (!queue_.empty()) next = std::min(next, queue_.top().at);
      for (std::size_t i = 0; i < members.size(); ++i)
        if (members[i].up) next = std::min(next, std::max(now, members[i].node->next_deadline()));
      if (next > until) break;
      now = next;
      while (!queue_.empty() && queue_.top().at <= now) {
        Event e = queue_.top();
        queue_.pop();
        deliver(e);
      }
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (!members[i].up || members[i].node->next_deadline() > now) continue;
        Output out;
        members[i].node->on_tick(now, out);
        absorb(i, out);
      }
      if (now == until) break;
    }
    now = until;
  }
  void run_for(Time t) { run_until(now + t); }
  // Inject raw bytes as if `from` sent them to `to`.
  void inject(std::size_t from, std::size_t to, Bytes payload, Time delay = 1) {
    queue_.push(Event{now + delay, seq_++, from, to, std::move(payload), {}});
  }
  std::function<void(std::size_t from, std::size_t to, const Bytes&)> tap;

 private:
  struct Event {
    Time at;
    std::uint64_t seq;
    std::size_t from, to;
    Bytes payload;
    std::optional<LocalEvent> local;
    bool operator>(const Event& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
  };
  void deliver(Event& e) {
    Member& m = members[e.to];
    if (!m.up) return;
    Output out;
    if (e.local) {
      if (auto* s = std::get_if<SlotStored>(&*e.local)) m.proofs->held.insert({s->dataset, s->slot});
      m.node->on_local(now, *e.local, out);
    } else {
      delivered++;
      m.node->on_message(now, members[e.from].id, e.payload, out);
    }
    absorb(e.to, out);
  }
  void absorb(std::size_t i, Output& out) {
    for (auto& msg : out.messages) {
      std::size_t to = index_of(msg.to);
      if (to == SIZE_MAX) continue;
      if (tap) tap(i, to, msg.payload);
      if (!members[i].up || partitioned(i, to)) continue;
      if (loss_percent && rng_() % 100 < loss_percent) continue;
      if (drop_if && drop_if(i, to, msg.payload)) continue;
      queue_.push(Event{now + latency, seq_++, i, to, std::move(msg.payload), {}});
    }
    for (auto& a : out.actions) {
      if (auto_store) {
        if (auto* f = std::get_if<FetchSlot>(&a))
          queue_.push(Event{now + store_delay, seq_++, i, i, {}, LocalEvent(SlotStored{f->dataset.id, f->slot})});
        if (auto* r = std::get_if<RebuildSlot>(&a))
          queue_.push(Event{now + store_delay, seq_++, i, i, {}, LocalEvent(SlotStored{r->dataset.id, r->slot})});
      }
      if (auto* d = std::get_if<DropSlot>(&a)) members[i].proofs->held.erase({d->dataset, d->slot});
      members[i].actions.push_back(a);
    }
    out.clear();
  }
  Config config_;
  std::mt19937_64 rng_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
};

}  // namespace codex::protocol::test
