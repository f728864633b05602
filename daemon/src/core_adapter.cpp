// codex::protocol::Node as the daemon's ProtocolCore (core_adapter.hpp).
#include "codex/daemon/core_adapter.hpp"

#include <chrono>
#include <ctime>
#include <random>

#include "codex/json.hpp"
#include "codex/random.hpp"
#include "codex/protocol/node.hpp"
#include "codex/protocol/real_crypto.hpp"

namespace codex::daemon {
namespace {

using namespace codex::protocol;

// The seed only spreads probes and timer jitter; nonces and challenges,
// which peers must not predict, come from the CSPRNG (Node's `secrets`).
std::uint64_t probe_seed() {
  auto seed = system_random().next_u64();
  return seed ? *seed : std::random_device{}();
}

class CoreAdapter : public ProtocolCore {
 public:
  CoreAdapter(const Ed25519Key& key, const MembershipCertificate& certificate, Repository& repository,
              std::vector<Bytes> addresses, const Log& log, CoreHooks hooks)
      : log_(log),
        hooks_(std::move(hooks)),
        crypto_(key, certificate.community(), [this](Time now) { return unix_at(now); }),
        proofs_(repository),
        node_(protocol::Config{}, SelfIdentity{*member_id_of(key.peer_id()), certificate.encode(), std::move(addresses)}, crypto_,
              proofs_, probe_seed(), nullptr, &system_random()) {}

  void on_message(CoreTime now, const PeerId& from, ByteView payload, CoreOutput& out) override {
    auto member = member_id_of(from);
    if (!member) return;
    Output o;
    node_.on_message(now, *member, payload, o);
    translate(now, std::move(o), out);
  }

  void on_tick(CoreTime now, CoreOutput& out) override {
    Output o;
    if (!joined_ && started_ == 0) started_ = now;
    // Nobody came within ten seconds: found the community's membership alone;
    // members that come later join through us.
    if (!joined_ && now - started_ >= 10 * kSecond) {
      node_.join(now, {}, o);
      joined_ = true;
    }
    node_.on_tick(now, o);
    translate(now, std::move(o), out);
  }

  CoreTime next_deadline() const override {
    if (!joined_) return (started_ ? started_ : monotonic()) + 10 * kSecond;
    return node_.next_deadline();
  }

  void on_member_up(CoreTime now, const PeerId& member, CoreOutput& out) override {
    if (joined_) return;  // SWIM learns of members by itself from here on
    auto id = member_id_of(member);
    if (!id) return;
    Output o;
    Contact seed{*id, {}};
    node_.join(now, std::span<const Contact>(&seed, 1), o);
    joined_ = true;
    translate(now, std::move(o), out);
  }

  void on_member_down(CoreTime, const PeerId&, CoreOutput&) override {
    // The core's failure detector decides about members; a dropped
    // connection alone proves nothing.
  }

  std::string status_json() const override {
    const auto& s = node_.stats();
    return JsonObject()
        .add("joined", joined_)
        .add("live_members", static_cast<std::uint64_t>(node_.live_members()))
        .add("datasets", static_cast<std::uint64_t>(node_.datasets().size()))
        .add("messages_sent", s.messages_sent)
        .add("messages_received", s.messages_received)
        .add("refused", s.refused)
        .add("health_score", static_cast<std::uint64_t>(node_.health_score()))
        .str();
  }

 private:
  static CoreTime monotonic() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static std::int64_t unix_at(Time now) {
    return static_cast<std::int64_t>(std::time(nullptr)) + (now - monotonic()) / 1000;
  }

  void translate(CoreTime now, Output o, CoreOutput& out) {
    for (auto& m : o.messages) {
      auto peer = peer_id_of(m.to);
      if (peer) out.messages.push_back({std::move(*peer), std::move(m.payload)});
    }
    for (auto& action : o.actions) {
      if (auto* changed = std::get_if<MemberChanged>(&action)) {
        auto peer = peer_id_of(changed->member);
        if (!peer) continue;
        bool alive = changed->status == MemberStatus::alive || changed->status == MemberStatus::suspect;
        log_.debug("core", "peer={} {}", peer->to_string(), member_status_name(changed->status));
        if (hooks_.member_changed)
          out.actions.push_back([hooks = hooks_, p = *peer, a = changed->addresses, alive] { hooks.member_changed(p, a, alive); });
      } else if (auto* fetch = std::get_if<FetchSlot>(&action)) {
        log_.warn("core", "asked to fetch slot {} of dataset {}: slot transfers are not carried out yet", fetch->slot,
                  to_hex(fetch->dataset.id));
        fail(now, fetch->dataset.id, fetch->slot, out);
      } else if (auto* rebuild = std::get_if<RebuildSlot>(&action)) {
        log_.warn("core", "asked to rebuild slot {} of dataset {}: slot transfers are not carried out yet",
                  rebuild->slot, to_hex(rebuild->dataset.id));
        fail(now, rebuild->dataset.id, rebuild->slot, out);
      } else if (auto* drop = std::get_if<DropSlot>(&action)) {
        log_.info("core", "asked to drop slot {} of dataset {} (kept: dropping is not carried out yet)", drop->slot,
                  to_hex(drop->dataset));
      } else if (auto* cancel = std::get_if<CancelSlot>(&action)) {
        log_.debug("core", "cancel slot {} of dataset {}", cancel->slot, to_hex(cancel->dataset));
      }
    }
  }

  void fail(CoreTime now, const DatasetId& dataset, std::uint32_t slot, CoreOutput& out) {
    Output o;
    node_.on_local(now, SlotFailed{dataset, slot}, o);
    translate(now, std::move(o), out);
  }

  const Log& log_;
  CoreHooks hooks_;
  Ed25519Crypto crypto_;
  RepositoryProofs proofs_;
  Node node_;
  bool joined_ = false;
  CoreTime started_ = 0;
};

}  // namespace

std::unique_ptr<ProtocolCore> make_protocol_core(const Ed25519Key& key, const MembershipCertificate& certificate,
                                                 Repository& repository, std::vector<Bytes> addresses,
                                                 const Log& log, CoreHooks hooks) {
  return std::make_unique<CoreAdapter>(key, certificate, repository, std::move(addresses), log, std::move(hooks));
}

}  // namespace codex::daemon
