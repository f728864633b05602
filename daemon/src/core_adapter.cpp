// codex::protocol::Node as the daemon's ProtocolCore, with the slot executor
// doing what it decides (core_adapter.hpp).
#include "codex/daemon/core_adapter.hpp"
#include "codex/daemon/tree_exchange.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>

#include "codex/daemon/control.hpp"
#include "codex/daemon/node_files.hpp"
#include "codex/daemon/slot_executor.hpp"
#include "codex/json.hpp"
#include "codex/random.hpp"
#include "codex/manifest.hpp"
#include "codex/protocol/node.hpp"
#include "codex/protocol/real_crypto.hpp"

namespace codex::daemon {

namespace {

using namespace codex::protocol;

constexpr std::size_t kMaxViewAnswer = 64 * 1024;
constexpr int kResumeTries = 30;

std::int64_t unix_seconds() { return static_cast<std::int64_t>(std::time(nullptr)); }
std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}
Time mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string peer_text(const MemberId& id) {
  auto p = peer_id_of(id);
  return p ? p->to_string() : short_hex(id);
}

std::optional<DatasetId> dataset_of(const Cid& cid) {
  if (cid.codec() != codec::manifest) return std::nullopt;
  return cid.sha256_digest();
}

std::string cid_text(const DatasetId& id) { return Cid::from_digest(codec::manifest, id).to_string(); }

// The repository's proofs, and a word to the core when one cannot be made
// because the slot is damaged or gone: the holder tells its watchers at once
// instead of letting them find out one failed proof at a time.
class DamageReportingProofs final : public ProofSystem {
 public:
  DamageReportingProofs(Repository& repository, std::uint32_t samples,
                        std::function<void(const DatasetId&, std::uint32_t)> on_damaged)
      : inner_(repository, samples), on_damaged_(std::move(on_damaged)) {}
  Result<Bytes> prove(const DatasetId& dataset, std::uint32_t slot, ByteView challenge) override {
    auto proof = inner_.prove(dataset, slot, challenge);
    if (proof) {
      ++made_;
    } else if (proof.error().code == Errc::corrupt || proof.error().code == Errc::not_found) {
      ++failed_;
      on_damaged_(dataset, slot);
    }
    return proof;
  }
  Status check(const DatasetId& dataset, std::uint32_t slot, ByteView challenge, ByteView proof) override {
    return inner_.check(dataset, slot, challenge, proof);
  }
  std::uint64_t made() const { return made_; }
  std::uint64_t failed_to_make() const { return failed_; }

 private:
  RepositoryProofs inner_;
  std::function<void(const DatasetId&, std::uint32_t)> on_damaged_;
  std::uint64_t made_ = 0, failed_ = 0;
};

// One member's word about a dataset (its answer on /codex/community-view/1.0.0).
struct MemberWord {
  std::string member;
  std::optional<std::uint64_t> own_slot;
  bool stored = false;
  struct Slot {
    std::string holder;  // empty: none known
    std::string health;
    std::optional<std::uint64_t> heard_ms_ago, proof_ms_ago;
  };
  std::vector<Slot> slots;
};

std::optional<MemberWord> parse_word(const json::Value& v) {
  if (v.kind != json::Kind::object) return std::nullopt;
  const json::Value* member = v.find("member");
  if (!member || member->kind != json::Kind::string) return std::nullopt;
  MemberWord w;
  w.member = member->string;
  if (const json::Value* own = v.find("own_slot"); own && own->kind == json::Kind::integer) w.own_slot = own->magnitude;
  if (const json::Value* stored = v.find("stored"); stored && stored->kind == json::Kind::boolean) w.stored = stored->boolean;
  const json::Value* list = v.find("slots");
  if (list && list->kind == json::Kind::array) {
    for (const auto& s : list->array) {
      MemberWord::Slot slot;
      if (const json::Value* h = s.find("holder"); h && h->kind == json::Kind::string) slot.holder = h->string;
      if (const json::Value* h = s.find("health"); h && h->kind == json::Kind::string) slot.health = h->string;
      if (const json::Value* t = s.find("heard_ms_ago"); t && t->kind == json::Kind::integer) slot.heard_ms_ago = t->magnitude;
      if (const json::Value* t = s.find("proof_ms_ago"); t && t->kind == json::Kind::integer) slot.proof_ms_ago = t->magnitude;
      w.slots.push_back(std::move(slot));
    }
  }
  return w;
}

}  // namespace

struct CoreState : std::enable_shared_from_this<CoreState> {
  CoreLink link;
  Config config;
  const Ed25519Key& key;
  MembershipCertificate certificate;
  Ed25519Crypto crypto;
  DamageReportingProofs proofs;
  std::unique_ptr<Node> node;
  std::unique_ptr<SlotExecutor> executor;
  Time created = mono_ms();
  Time joined_at = 0;
  bool joined = false;
  bool resume_started = false;
  std::vector<PeerId> up;  // members admitted before we joined: our seeds
  std::map<std::pair<DatasetId, std::uint32_t>, RebuildSlot> waiting_rebuilds;  // auto-repair off
  std::map<DatasetId, std::vector<MemberId>> published;
  std::uint64_t rebuilds_started = 0, fetches_started = 0, drops = 0, resumed = 0, stale_dropped = 0;

  CoreState(CoreLink link_, const Config& config_, const Ed25519Key& key_, const MembershipCertificate& cert)
      : link(std::move(link_)),
        config(config_),
        key(key_),
        certificate(cert),
        crypto(key_, cert.community(), [](Time now) { return unix_seconds() + (now - mono_ms()) / 1000; }),
        proofs(*link.repository, config.proof_samples,
               [this](const DatasetId& d, std::uint32_t slot) { damaged(d, slot); }) {}

  void init() {
    std::weak_ptr<CoreState> weak = weak_from_this();
    ExecutorOptions options;
    options.bandwidth_bytes_per_second = config.repair_bandwidth;
    options.fetch.window = config.fetch_parallel;
    options.fetch.request_timeout = config.request_timeout;
    options.scratch_keep_ms = config.protocol.repair_timeout;
    executor = std::make_unique<SlotExecutor>(link, options, [weak](const LocalEvent& e) {
      if (auto s = weak.lock()) s->local(e);
    });
    link.handle(std::string(kCommunityViewProtocol), [weak](std::shared_ptr<net::Stream> stream) -> asio::awaitable<void> {
      auto s = weak.lock();
      if (!s) co_return;
      auto request = co_await net::read_length_prefixed(*stream, 64);
      std::string answer;
      if (request && request->size() == 32) {
        DatasetId id;
        std::copy(request->begin(), request->end(), id.begin());
        answer = s->own_view_json(id);
      }
      co_await net::write_length_prefixed(*stream, as_bytes(answer));
      co_await stream->close_write();
    });
  }

  void damaged(const DatasetId& d, std::uint32_t slot) {
    std::weak_ptr<CoreState> weak = weak_from_this();
    // After the core's call returns: tell it the slot is damaged.
    asio::post(*link.io, [weak, d, slot]() {
      if (auto s = weak.lock()) {
        s->link.log->warn("slot", "dataset={} slot={} cannot be proven: reported damaged", cid_text(d), slot);
        s->local(SlotDamaged{d, slot});
      }
    });
  }

  void ensure_node() {
    if (node) return;
    SelfIdentity self;
    if (auto me = member_id_of(key.peer_id())) self.id = *me;
    self.certificate = certificate.encode();
    if (link.listen_addresses) self.addresses = link.listen_addresses();
    // A restarted member's heartbeats and alive record must be newer than
    // its last life's: both start from the wall clock.
    self.first_heartbeat_seq = unix_ms();
    self.first_incarnation = static_cast<std::uint32_t>(unix_seconds());
    // The seed only spreads probes and timer jitter; nonces and challenges,
    // which peers must not predict, come from the CSPRNG (Node's `secrets`).
    auto drawn = system_random().next_u64();
    std::uint64_t seed = drawn ? *drawn : (static_cast<std::uint64_t>(mono_ms()) ^ unix_ms());
    node = std::make_unique<Node>(config.protocol, std::move(self), crypto, proofs, seed, nullptr, &system_random());
  }

  void join(Time now, Output& out) {
    if (joined) return;
    ensure_node();
    std::vector<Contact> seeds;
    for (const auto& p : up)
      if (auto m = member_id_of(p)) seeds.push_back(Contact{*m, {}});
    node->join(now, seeds, out);
    joined = true;
    joined_at = now;
    remember_damage(now, out);
    link.log->info("community", "{} the community's membership ({} seed(s))", seeds.empty() ? "founded" : "joined",
                   seeds.size());
  }

  // Our damage reports from before this start (DIR/damaged-slots) that are
  // younger than the repair timeout: the core ignores requests to rebuild
  // those slots for the rest of it, as if it had not restarted.
  void remember_damage(Time now, Output& out) {
    auto reports = load_damage_reports(NodePaths{link.dir});
    if (!reports) {
      link.log->warn("slot", "damage reports from before this start not read: {}", reports.error().message);
      return;
    }
    const std::uint64_t wall = unix_ms();
    for (const DamageReport& r : *reports) {
      if (r.reported_unix_ms > wall) continue;  // from a clock that was ahead: ignored
      const Time age = static_cast<Time>(wall - r.reported_unix_ms);
      if (age >= config.protocol.repair_timeout) continue;
      link.log->info("slot", "dataset={} slot={} reported damaged {} ms before this start: not rebuilt here for {} ms more",
                     cid_text(r.dataset), r.slot, age, config.protocol.repair_timeout - age);
      node->on_local(now, DamageRemembered{r.dataset, r.slot, age}, out);
    }
  }

  DatasetDescriptor descriptor(const DatasetRecord& r) const {
    DatasetDescriptor d;
    d.id = *r.manifest_cid.sha256_digest();
    if (r.manifest.is_protected()) {
      d.k = static_cast<std::uint8_t>(r.manifest.erasure->k);
      d.m = static_cast<std::uint8_t>(r.manifest.erasure->m);
      d.l0 = config.lazy_repair_l0;
    } else {
      d.plain = true;
    }
    return d;
  }

  CoreOutput translate(Output& out) {
    CoreOutput o;
    for (auto& m : out.messages)
      if (auto p = peer_id_of(m.to)) o.messages.push_back(CoreOutgoing{*p, std::move(m.payload)});
    std::weak_ptr<CoreState> weak = weak_from_this();
    for (auto& a : out.actions)
      o.actions.push_back([weak, a = std::move(a)]() {
        if (auto s = weak.lock()) s->act(a);
      });
    out.clear();
    return o;
  }

  void act(const Action& a) {
    if (auto* f = std::get_if<FetchSlot>(&a)) {
      fetches_started++;
      executor->fetch(*f);
    } else if (auto* r = std::get_if<RebuildSlot>(&a)) {
      if (config.auto_repair) {
        rebuilds_started++;
        executor->rebuild(*r);
      } else {
        link.log->info("repair", "dataset={} slot={} is ours to rebuild: waiting for codex-repair (auto-repair off)",
                       cid_text(r->dataset.id), r->slot);
        waiting_rebuilds[{r->dataset.id, r->slot}] = *r;
      }
    } else if (auto* d = std::get_if<DropSlot>(&a)) {
      drops++;
      if (d->damaged) {
        // Kept across restarts: a restarted member that forgot its report
        // would take a request to rebuild the slot on the disk that lost it.
        DamageReport report{d->dataset, d->slot, unix_ms()};
        auto st = remember_damage_report(NodePaths{link.dir}, report,
                                         static_cast<std::uint64_t>(std::max<Time>(0, config.protocol.repair_timeout)));
        if (!st)
          link.log->warn("slot", "dataset={} slot={} damage report not kept across restarts: {}", cid_text(d->dataset),
                         d->slot, st.error().message);
      }
      waiting_rebuilds.erase({d->dataset, d->slot});
      executor->drop(*d);
    } else if (auto* c = std::get_if<CancelSlot>(&a)) {
      waiting_rebuilds.erase({c->dataset, c->slot});
      executor->cancel(*c);
    } else if (auto* m = std::get_if<MemberChanged>(&a)) {
      auto p = peer_id_of(m->member);
      if (!p) return;
      const bool alive = m->status == MemberStatus::alive || m->status == MemberStatus::suspect;
      link.log->info("member", "peer={} {}", p->to_string(), member_status_name(m->status));
      if (link.member_changed) link.member_changed(*p, m->addresses, alive);
    }
  }

  void local(const LocalEvent& e) {
    if (!node || !joined) return;
    Output out;
    node->on_local(mono_ms(), e, out);
    link.apply(translate(out));
  }

  // ---- the community's view of a dataset ----

  std::string own_view_json(const DatasetId& id) const {
    if (!node) return {};
    auto v = node->dataset(id);
    if (!v) return {};
    const Time now = mono_ms();
    std::string slots = "[";
    for (const auto& s : v->slots) {
      JsonObject o;
      o.add("slot", s.slot);
      if (s.holder) o.add("holder", peer_text(*s.holder));
      else o.add_null("holder");
      o.add("health", slot_health_name(s.health));
      o.add("heard_ms_ago", static_cast<std::uint64_t>(std::max<Time>(0, now - s.last_heard)));
      if (s.last_proof) o.add("proof_ms_ago", static_cast<std::uint64_t>(std::max<Time>(0, now - s.last_proof)));
      else o.add_null("proof_ms_ago");
      slots += (slots.size() > 1 ? "," : "") + o.str();
    }
    slots += "]";
    JsonObject o;
    o.add("member", key.peer_id().to_string());
    if (v->own_slot) o.add("own_slot", *v->own_slot);
    else o.add_null("own_slot");
    o.add("stored", v->own_slot_stored).add("k", unsigned(v->dataset.k)).add("m", unsigned(v->dataset.m));
    o.add_raw("slots", slots);
    return o.str();
  }

  // Every member's word about a dataset, ours first; each speaks only for itself.
  asio::awaitable<std::vector<MemberWord>> gather(const DatasetId& id, std::uint64_t* k = nullptr, std::uint64_t* m = nullptr) {
    std::vector<MemberWord> words;
    auto take = [&](const json::Value& v) {
      if (k)
        if (auto* x = v.find("k"); x && x->kind == json::Kind::integer) *k = x->magnitude;
      if (m)
        if (auto* x = v.find("m"); x && x->kind == json::Kind::integer) *m = x->magnitude;
      if (auto w = parse_word(v)) words.push_back(std::move(*w));
    };
    if (auto own = own_view_json(id); !own.empty())
      if (auto v = json::parse(own)) take(*v);
    auto self_ = shared_from_this();  // alive across the awaits
    Bytes request(id.begin(), id.end());
    for (const auto& peer : link.usable_peers()) {
      auto s = co_await link.open_stream(peer, kCommunityViewProtocol);
      if (!s) continue;
      if (!co_await net::write_length_prefixed(**s, request)) continue;
      co_await (*s)->close_write();
      auto answer = co_await net::read_length_prefixed(**s, kMaxViewAnswer);
      if (!answer || answer->empty()) continue;
      auto v = json::parse(std::string_view(reinterpret_cast<const char*>(answer->data()), answer->size()));
      if (!v || v->kind != json::Kind::object) continue;
      const json::Value* member = v->find("member");
      if (!member || member->kind != json::Kind::string || member->string != peer.to_string()) continue;
      take(*v);
    }
    co_return words;
  }

  asio::awaitable<std::string> dataset_json(const Cid& cid) {
    auto id = dataset_of(cid);
    if (!id) co_return control_error(make_error(Errc::usage, "'{}' is not a manifest CID", cid.to_string()));
    std::uint64_t k = 0, m = 0;
    auto words = co_await gather(*id, &k, &m);
    if (k == 0)
      if (auto record = link.repository->find_dataset(cid); record && *record && (*record)->manifest.is_protected()) {
        k = (*record)->manifest.erasure->k;
        m = (*record)->manifest.erasure->m;
      }
    const std::size_t slots = std::min<std::uint64_t>(k + m, 256);
    struct Summary {
      std::string holder;      // the member that says it stores the slot
      std::string rebuilding;  // a member that says it is getting it
      std::map<std::string, int> verdicts;  // watchers' health of the holder they know
      std::optional<std::uint64_t> heard_ms_ago, proof_ms_ago;  // freshest a watcher saw
    };
    std::vector<Summary> summary(slots);
    for (const auto& w : words) {
      if (w.own_slot && *w.own_slot < slots) {
        if (w.stored) summary[*w.own_slot].holder = w.member;
        else summary[*w.own_slot].rebuilding = w.member;
      }
    }
    // A slot whose holder does not answer (gone, or not yet detected gone):
    // the holder most watchers name.
    std::vector<std::string> named(slots);
    for (std::size_t i = 0; i < slots; ++i) {
      if (!summary[i].holder.empty()) continue;
      std::map<std::string, int> votes;
      for (const auto& w : words)
        if (i < w.slots.size() && !(w.own_slot && *w.own_slot == i) && !w.slots[i].holder.empty())
          votes[w.slots[i].holder]++;
      int best = 0;
      for (const auto& [holder, n] : votes)
        if (n > best) {
          best = n;
          named[i] = holder;
        }
    }
    for (const auto& w : words) {
      for (std::size_t i = 0; i < w.slots.size() && i < slots; ++i) {
        if (w.own_slot && *w.own_slot == i) continue;  // a holder's word on itself is not a verdict
        const auto& s = w.slots[i];
        auto& sum = summary[i];
        // Verdicts about the holder in question.
        if (s.holder != (sum.holder.empty() ? named[i] : sum.holder)) continue;
        sum.verdicts[s.health]++;
        auto fresher = [](std::optional<std::uint64_t>& a, std::optional<std::uint64_t> b) {
          if (b && (!a || *b < *a)) a = b;
        };
        if (s.health == "held" || s.health == "suspect") fresher(sum.heard_ms_ago, s.heard_ms_ago);
        fresher(sum.proof_ms_ago, s.proof_ms_ago);
      }
    }
    bool complete = slots > 0;
    std::vector<std::string> holders;
    std::string list = "[";
    for (std::size_t i = 0; i < slots; ++i) {
      const auto& s = summary[i];
      // held: its holder says it stores it and no watcher finds it otherwise;
      // suspect/lost: the watchers' word on it; a holder that does not answer
      // is what its watchers say (held until they notice, then suspect,
      // lost); rebuilding: a member is getting it.
      int best = 0;
      std::string verdict;
      for (const auto& [health, count] : s.verdicts)
        if (count > best) {
          best = count;
          verdict = health;
        }
      std::string state = "held";
      if (verdict == "suspect" || verdict == "lost" || verdict == "confirmed") state = verdict;
      if (s.holder.empty()) {
        if (named[i].empty() || verdict.empty()) state = "lost";
        if (verdict == "repairing") state = "rebuilding";
        if (!s.rebuilding.empty()) state = "rebuilding";
      }
      if (state == "confirmed") state = "lost";
      if (s.holder.empty() || state != "held" ||
          std::find(holders.begin(), holders.end(), s.holder) != holders.end())
        complete = false;
      holders.push_back(s.holder);
      JsonObject o;
      o.add("slot", static_cast<std::uint64_t>(i));
      if (!s.holder.empty()) o.add("holder", s.holder);
      else o.add_null("holder");
      // Who the watchers name when the holder itself does not answer.
      if (s.holder.empty() && !named[i].empty()) o.add("named_by_watchers", named[i]);
      else o.add_null("named_by_watchers");
      o.add("state", state);
      if (!s.rebuilding.empty()) o.add("rebuilt_by", s.rebuilding);
      else o.add_null("rebuilt_by");
      if (s.heard_ms_ago) o.add("heartbeat_ms_ago", *s.heard_ms_ago);
      else o.add_null("heartbeat_ms_ago");
      if (s.proof_ms_ago) o.add("proof_ms_ago", *s.proof_ms_ago);
      else o.add_null("proof_ms_ago");
      std::string verdicts = "{";
      for (const auto& [health, count] : s.verdicts)
        verdicts += (verdicts.size() > 1 ? "," : "") + json_quote(health) + ":" + std::to_string(count);
      o.add_raw("watchers", verdicts + "}");
      list += (list.size() > 1 ? "," : "") + o.str();
    }
    list += "]";
    co_return JsonObject()
        .add("ok", true)
        .add("cid", cid.to_string())
        .add("k", k)
        .add("m", m)
        .add("members_answering", static_cast<std::uint64_t>(words.size()))
        .add("complete", complete)
        .add_raw("slots", list)
        .add_raw("jobs", executor->jobs_json())
        .str();
  }

  std::string datasets_json() {
    std::string list = "[";
    if (node)
      for (const auto& v : node->datasets()) {
        std::size_t held = 0;
        for (const auto& s : v.slots) held += s.health == SlotHealth::held;
        JsonObject o;
        o.add("cid", cid_text(v.dataset.id)).add("k", unsigned(v.dataset.k)).add("m", unsigned(v.dataset.m)).add("plain", v.dataset.plain);
        if (v.own_slot) o.add("own_slot", *v.own_slot);
        else o.add_null("own_slot");
        o.add("stored", v.own_slot_stored).add("slots_held_in_view", static_cast<std::uint64_t>(held));
        list += (list.size() > 1 ? "," : "") + o.str();
      }
    list += "]";
    std::string pub = "[";
    for (const auto& [id, placement] : published) pub += (pub.size() > 1 ? "," : "") + json_quote(cid_text(id));
    pub += "]";
    return JsonObject().add("ok", true).add_raw("datasets", list).add_raw("published", pub).str();
  }

  // ---- a restarted member's slots ----

  // For each slot this repository holds of a dataset it did not publish:
  // when another member stores it and a watcher hears its heartbeats, our
  // copy is stale and dropped; when another is still getting it, we wait;
  // when nobody else has it, we hold it again and heartbeat it.
  static asio::awaitable<void> resume_held(std::shared_ptr<CoreState> s) {
    auto all = s->link.repository->datasets();
    if (!all) {
      s->link.log->warn("community", "cannot list the repository's datasets: {}", all.error().message);
      co_return;
    }
    for (const auto& r : *all) {
      if (!r.manifest.is_protected()) {
        // A plain dataset kept here: held and served again.
        s->local(DatasetPublished{s->descriptor(r)});
        continue;
      }
      if (!r.held_slots) continue;  // a full copy: this member published it (placed on others)
      const auto desc = s->descriptor(r);
      for (std::uint32_t slot = 0; slot < desc.slots() && slot < 32; ++slot)
        if (*r.held_slots >> slot & 1)
          asio::co_spawn(*s->link.io, resume_slot(s, r.manifest_cid, desc, slot), asio::detached);
    }
  }

  static asio::awaitable<void> resume_slot(std::shared_ptr<CoreState> s, Cid cid, DatasetDescriptor desc, std::uint32_t slot) {
    const std::string me = s->key.peer_id().to_string();
    asio::steady_timer timer(*s->link.io);
    for (int attempt = 0; attempt < kResumeTries; ++attempt) {
      if (attempt > 0) {
        timer.expires_after(std::chrono::milliseconds(std::clamp<Time>(s->config.protocol.heartbeat_interval, 500, 60000)));
        std::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (!s->node || s->node->dataset(desc.id)) co_return;  // the core has it again (an Assign, a repair request)
      auto words = co_await s->gather(desc.id);
      std::string other, getting;
      std::vector<std::optional<MemberId>> holders(desc.slots());
      for (const auto& w : words) {
        if (w.member == me || !w.own_slot || *w.own_slot >= desc.slots()) continue;
        if (*w.own_slot == slot) (w.stored ? other : getting) = w.member;
        else if (w.stored)
          if (auto p = PeerId::parse(w.member))
            if (auto id = member_id_of(*p)) holders[*w.own_slot] = *id;
      }
      if (!other.empty()) {
        bool heartbeating = false;
        for (const auto& w : words)
          if (w.member != other && slot < w.slots.size() && w.slots[slot].holder == other && w.slots[slot].health == "held")
            heartbeating = true;
        if (!heartbeating) {
          s->link.log->info("slot", "dataset={} slot={} is held by {} now: our copy is dropped once it heartbeats",
                            cid.to_string(), slot, other);
          continue;
        }
        auto st = s->link.repository->drop_slot(cid, slot);
        if (st) {
          s->stale_dropped++;
          s->link.log->info("slot", "dataset={} slot={} stale copy dropped: {} holds it and heartbeats it",
                            cid.to_string(), slot, other);
        } else {
          s->link.log->warn("slot", "dataset={} slot={} cannot drop the stale copy: {}", cid.to_string(), slot,
                            st.error().message);
        }
        co_return;
      }
      if (!getting.empty()) {
        s->link.log->info("slot", "dataset={} slot={} is being rebuilt by {}: waiting", cid.to_string(), slot, getting);
        continue;
      }
      s->resumed++;
      s->link.log->info("slot", "dataset={} slot={} held again: heartbeating it", cid.to_string(), slot);
      s->local(SlotResumed{desc, slot, std::move(holders)});
      co_return;
    }
    s->link.log->warn("slot", "dataset={} slot={} still held elsewhere without heartbeats: our copy is kept",
                      cid.to_string(), slot);
  }

  Time resume_delay() const { return std::clamp<Time>(3 * config.protocol.probe_interval, 2000, 60000); }
};

namespace {

class CoreAdapter final : public ProtocolCore {
 public:
  CoreAdapter(CoreLink link, const Config& config, const Ed25519Key& key, const MembershipCertificate& certificate)
      : s_(std::make_shared<CoreState>(std::move(link), config, key, certificate)) {
    s_->init();
  }

  void on_message(CoreTime now, const PeerId& from, ByteView payload, CoreOutput& out) override {
    auto& s = *s_;
    if (!s.joined) return;
    auto member = member_id_of(from);
    if (!member) return;
    Output o;
    const auto before = s.node->stats();
    s.node->on_message(now, *member, payload, o);
    log_refusal(before, s.node->stats(), from);
    append(s.translate(o), out);
  }

  void on_tick(CoreTime now, CoreOutput& out) override {
    auto& s = *s_;
    Output o;
    // Nobody came by join-wait: found the community's membership alone;
    // members that come later join through us.
    if (!s.joined && now - s.created >= s.config.join_wait.count()) s.join(now, o);
    if (s.joined) {
      s.node->on_tick(now, o);
      if (!s.resume_started && now - s.joined_at >= s.resume_delay()) {
        s.resume_started = true;
        asio::co_spawn(*s.link.io, CoreState::resume_held(s_), asio::detached);
      }
    }
    append(s.translate(o), out);
  }

  CoreTime next_deadline() const override {
    auto& s = *s_;
    if (!s.joined) return s.created + s.config.join_wait.count();
    CoreTime next = s.node->next_deadline();
    if (!s.resume_started) next = std::min(next, s.joined_at + s.resume_delay());
    return next;
  }

  void on_member_up(CoreTime now, const PeerId& member, CoreOutput& out) override {
    auto& s = *s_;
    if (s.joined) return;  // SWIM learns of members by itself from here on
    if (std::find(s.up.begin(), s.up.end(), member) == s.up.end()) s.up.push_back(member);
    Output o;
    s.join(now, o);
    append(s.translate(o), out);
  }

  void on_member_down(CoreTime, const PeerId&, CoreOutput&) override {
    // A closed connection proves nothing: SWIM's probes decide about members.
  }

  // A message the core refused (forged, replayed, from no member): a line
  // naming the sender and why, so an operator can see who misbehaves; at
  // most one a second per sender and reason (a flood does not flood the log).
  void log_refusal(const NodeStats& before, const NodeStats& after, const PeerId& from) {
    if (after.refused == before.refused) return;
    const char* why = after.refused_signature != before.refused_signature   ? "bad signature"
                      : after.refused_replay != before.refused_replay       ? "replayed (sequence number not newer)"
                      : after.refused_non_member != before.refused_non_member ? "about or from no member"
                                                                              : "malformed or not the sender's own";
    if (refusals_.size() > 1024) refusals_.clear();
    auto& [last, quiet] = refusals_[{from.to_string(), why}];
    const Time now = mono_ms();
    if (last != 0 && now - last < 1000) {
      ++quiet;
      return;
    }
    s_->link.log->warn("core", "peer={} message refused: {}{}", from.to_string(), why,
                       quiet ? fmt::format(" ({} more since the last line)", quiet) : std::string());
    last = now;
    quiet = 0;
  }

  std::string status_json() const override {
    auto& s = *s_;
    JsonObject o;
    o.add("joined", s.joined).add("auto_repair", s.config.auto_repair);
    if (s.node) {
      const auto& st = s.node->stats();
      o.add("live_members", static_cast<std::uint64_t>(s.node->live_members()))
          .add("datasets", static_cast<std::uint64_t>(s.node->datasets().size()))
          .add("health_score", static_cast<std::uint64_t>(s.node->health_score()))
          .add("messages_sent", st.messages_sent)
          .add("bytes_sent", st.bytes_sent)
          .add("messages_received", st.messages_received)
          .add("bytes_received", st.bytes_received)
          .add("refused", st.refused)
          .add("refused_signature", st.refused_signature)
          .add("refused_replay", st.refused_replay)
          .add("refused_non_member", st.refused_non_member)
          .add("probes", st.probes)
          .add("suspicions_raised", st.suspicions_raised)
          .add("deaths_declared", st.deaths_declared)
          .add("heartbeats_sent", st.heartbeats_sent)
          .add("heartbeats_accepted", st.heartbeats_accepted)
          .add("proofs_checked", st.proofs_checked)
          .add("proofs_failed", st.proofs_failed)
          .add("losses_confirmed", st.losses_confirmed)
          .add("repairs_claimed", st.repairs_claimed)
          .add("claims_expired", st.claims_expired)
          .add("repairs_finished", st.repairs_finished);
    }
    o.add("proofs_made", s.proofs.made())
        .add("fetches_started", s.fetches_started)
        .add("rebuilds_started", s.rebuilds_started)
        .add("rebuilds_waiting", static_cast<std::uint64_t>(s.waiting_rebuilds.size()))
        .add("slots_dropped", s.drops)
        .add("slots_resumed", s.resumed)
        .add("stale_copies_dropped", s.stale_dropped)
        .add("jobs_running", static_cast<std::uint64_t>(s.executor->running()));
    return o.str();
  }

  asio::awaitable<std::optional<std::string>> control(const json::Value& request) override {
    auto s = s_;
    const json::Value* command = request.find("command");
    if (!command || command->kind != json::Kind::string) co_return std::nullopt;
    const std::string c = command->string;
    auto cid_arg = [&]() -> Result<Cid> {
      const json::Value* v = request.find("cid");
      if (!v || v->kind != json::Kind::string) return make_error(Errc::usage, "'{}' needs \"cid\"", c);
      return Cid::parse(v->string);
    };
    if (c == "datasets") co_return s->datasets_json();
    if (c == "jobs") co_return JsonObject().add("ok", true).add_raw("jobs", s->executor->jobs_json()).str();
    if (c == "dataset") {
      auto cid = cid_arg();
      if (!cid) co_return control_error(cid.error());
      co_return co_await s->dataset_json(*cid);
    }
    if (c == "publish") co_return publish(*s, cid_arg());
    if (c == "forget") {
      // A plain dataset no longer kept here (codex-gossip unpin).
      auto cid = cid_arg();
      if (!cid) co_return control_error(cid.error());
      auto id = dataset_of(*cid);
      if (!id) co_return control_error(make_error(Errc::usage, "'{}' is not a manifest CID", cid->to_string()));
      s->local(DatasetForgotten{*id});
      co_return JsonObject().add("ok", true).add("cid", cid->to_string()).str();
    }
    if (c == "repair") {
      // codex-repair --daemon: the rebuilds this member was asked to do, now.
      std::optional<DatasetId> only;
      if (request.find("cid")) {
        auto cid = cid_arg();
        if (!cid) co_return control_error(cid.error());
        only = dataset_of(*cid);
        if (!only) co_return control_error(make_error(Errc::usage, "'{}' is not a manifest CID", cid->to_string()));
      }
      if (const json::Value* dry = request.find("dry_run"); dry && dry->kind == json::Kind::boolean && dry->boolean) {
        std::uint64_t waiting = 0;
        for (const auto& [key, rebuild] : s->waiting_rebuilds) waiting += !only || key.first == *only;
        co_return JsonObject().add("ok", true).add("waiting", waiting).add_raw("jobs", "[]").str();
      }
      std::vector<std::pair<DatasetId, std::uint32_t>> started;
      for (auto it = s->waiting_rebuilds.begin(); it != s->waiting_rebuilds.end();) {
        if (only && it->first.first != *only) {
          ++it;
          continue;
        }
        s->rebuilds_started++;
        s->executor->rebuild(it->second);
        started.push_back(it->first);
        it = s->waiting_rebuilds.erase(it);
      }
      // Until they end (the caller bounds its own time).
      asio::steady_timer t(*s->link.io);
      for (;;) {
        bool running = false;
        for (const auto& key : started) running |= s->executor->busy(key.first, key.second);
        if (!running) break;
        t.expires_after(std::chrono::milliseconds(200));
        std::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      std::uint64_t failed = 0;
      for (const auto& key : started) failed += s->executor->last_outcome(key.first, key.second) == false;
      co_return JsonObject()
          .add("ok", true)
          .add("started", static_cast<std::uint64_t>(started.size()))
          .add("failed", failed)
          .add_raw("jobs", s->executor->jobs_json())
          .str();
    }
    co_return std::nullopt;
  }

 private:
  static void append(CoreOutput from, CoreOutput& out) {
    for (auto& m : from.messages) out.messages.push_back(std::move(m));
    for (auto& a : from.actions) out.actions.push_back(std::move(a));
  }

  static std::string publish(CoreState& s, Result<Cid> cid) {
    if (!cid) return control_error(cid.error());
    auto record = s.link.repository->find_dataset(*cid);
    if (!record) return control_error(record.error());
    if (!*record) return control_error(make_error(Errc::not_found, "dataset {} is not in this repository", cid->to_string()));
    if (!s.joined || !s.node)
      return control_error(make_error(Errc::unavailable, "this member has not joined the community yet: try again shortly"));
    // Members could not fetch its tree (tree_exchange.hpp): refuse it here.
    if (auto fits = check_tree_size(*cid, (*record)->manifest.block_count()); !fits) return control_error(fits.error());
    auto desc = s.descriptor(**record);
    if (!desc.plain && (*record)->held_slots)
      return control_error(make_error(Errc::usage, "this repository holds only some slots of {}: publish from a full copy",
                                      cid->to_string()));
    // The publisher's full copy is the source, not a slot: every slot goes to
    // another member, so the publisher may go offline once they hold them.
    auto placement = s.node->placement(desc, false);
    s.published[desc.id] = placement;
    DatasetPublished event{desc};
    event.place_on_self = false;
    s.local(event);
    std::string list = "[";
    for (const auto& member : placement) list += (list.size() > 1 ? "," : "") + json_quote(peer_text(member));
    list += "]";
    s.link.log->info("community", "dataset={} published ({}): {} slot(s) placed on {} live member(s)", cid->to_string(),
                     desc.plain ? "plain: kept here, served on request" : "protected", placement.size(),
                     s.node->live_members());
    return JsonObject()
        .add("ok", true)
        .add("cid", cid->to_string())
        .add("plain", desc.plain)
        .add("live_members", static_cast<std::uint64_t>(s.node->live_members()))
        .add_raw("placement", list)
        .str();
  }

  std::shared_ptr<CoreState> s_;
  std::map<std::pair<std::string, std::string>, std::pair<Time, std::uint64_t>> refusals_;
};

}  // namespace

std::unique_ptr<ProtocolCore> make_protocol_core(CoreLink link, const Config& config, const Ed25519Key& key,
                                                 const MembershipCertificate& certificate) {
  return std::make_unique<CoreAdapter>(std::move(link), config, key, certificate);
}

}  // namespace codex::daemon
