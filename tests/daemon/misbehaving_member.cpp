// A member that misbehaves on purpose, for tests/daemon/lying_member.sh and
// tests/daemon/forged_heartbeats.sh: the real daemon (admission, serving,
// everything) with a test seam set so that it lies, stalls or forges.
//   misbehaving_member corrupt|stall|forge --repo DIR [--listen ADDR] [--bootstrap ADDR]...
// corrupt: every block it serves has one byte flipped (its presences are
// honest: it says it has the block, then sends a wrong one).
// stall: it answers want-have but never sends a block (connection kept).
// forge: a full member (the repository's gossip.conf, the protocol core,
// placement, its slot held and heartbeated honestly), whose every heartbeat
// is followed by three forgeries to the same watcher: the same heartbeat
// with a later sequence number and its signature left as it was (a bad
// signature), its first heartbeat to that watcher again (a replay), and a
// heartbeat in another member's name signed with its own key (a wrong
// signer). After SIGUSR1 it also sends, each second, its last heartbeat to
// every watcher with a newer sequence number and a good signature: what a
// member whose membership was revoked would keep sending.
// Runs until SIGINT/SIGTERM; logs like codex-gossip run, plus one line per
// round of forgeries.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "codex/daemon/config.hpp"
#include "codex/daemon/daemon.hpp"
#include "codex/daemon/node_files.hpp"
#include "codex/identity.hpp"
#include "codex/protocol/messages.hpp"
#include "codex/protocol/real_crypto.hpp"

using namespace codex;
using namespace codex::daemon;

namespace {

class ForgingCore final : public ProtocolCore {
 public:
  ForgingCore(std::unique_ptr<ProtocolCore> inner, Ed25519Key key, Log& log, const bool& after_revocation)
      : inner_(std::move(inner)), key_(std::move(key)), log_(log), after_revocation_(after_revocation) {}

  void on_message(CoreTime now, const PeerId& from, ByteView payload, CoreOutput& out) override {
    inner_->on_message(now, from, payload, out);
    forge(out);
  }
  void on_tick(CoreTime now, CoreOutput& out) override {
    if (now >= inner_->next_deadline()) inner_->on_tick(now, out);
    forge(out);
    if (after_revocation_ && now >= next_resend_) {
      next_resend_ = now + 1000;
      for (auto& [to, hb] : last_) {
        hb.seq += 1000;
        hb.signature = key_.sign(protocol::heartbeat_signing_bytes(hb));
        out.messages.push_back(CoreOutgoing{to, protocol::encode(hb)});
      }
      if (!last_.empty()) log_.info("forge", "resent {} validly signed heartbeat(s) after the revocation", last_.size());
    }
  }
  CoreTime next_deadline() const override {
    return after_revocation_ ? std::min(inner_->next_deadline(), next_resend_) : inner_->next_deadline();
  }
  void on_member_up(CoreTime now, const PeerId& member, CoreOutput& out) override {
    inner_->on_member_up(now, member, out);
    forge(out);
  }
  void on_member_down(CoreTime now, const PeerId& member, CoreOutput& out) override {
    inner_->on_member_down(now, member, out);
    forge(out);
  }
  std::string status_json() const override { return inner_->status_json(); }
  asio::awaitable<std::optional<std::string>> control(const json::Value& request) override {
    co_return co_await inner_->control(request);
  }

 private:
  // After each genuine heartbeat: its forgeries to the same watcher.
  void forge(CoreOutput& out) {
    std::vector<CoreOutgoing> extra;
    for (const auto& m : out.messages) {
      auto decoded = protocol::decode(m.payload);
      if (!decoded) continue;
      const auto* hb = std::get_if<protocol::Heartbeat>(&*decoded);
      if (!hb) continue;
      const std::string to = m.to.to_string();
      auto first = first_.find(to);
      if (first == first_.end()) {
        first_.emplace(to, m.payload);
      } else {
        extra.push_back(CoreOutgoing{m.to, first->second});  // replay
      }
      protocol::Heartbeat bad = *hb;  // bad signature
      bad.seq += 1;
      if (bad.signature.empty()) bad.signature.assign(64, 0);
      extra.push_back(CoreOutgoing{m.to, protocol::encode(bad)});
      for (const auto& [other, id] : recipients_) {  // in another member's name
        if (other == to) continue;
        protocol::Heartbeat theirs = *hb;
        theirs.holder = id;
        theirs.signature = key_.sign(protocol::heartbeat_signing_bytes(theirs));
        extra.push_back(CoreOutgoing{m.to, protocol::encode(theirs)});
        break;
      }
      if (auto id = protocol::member_id_of(m.to)) recipients_.emplace(to, *id);
      last_.insert_or_assign(m.to, *hb);
      ++rounds_;
    }
    if (!extra.empty() && (rounds_ % 10 == 1 || rounds_ < 10))
      log_.info("forge", "{} forged heartbeat(s) queued ({} genuine so far)", extra.size(), rounds_);
    for (auto& e : extra) out.messages.push_back(std::move(e));
  }

  std::unique_ptr<ProtocolCore> inner_;
  Ed25519Key key_;
  Log& log_;
  const bool& after_revocation_;
  std::map<std::string, Bytes> first_;
  std::map<std::string, protocol::MemberId> recipients_;
  std::map<PeerId, protocol::Heartbeat> last_;
  std::uint64_t rounds_ = 0;
  CoreTime next_resend_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: misbehaving_member corrupt|stall|forge --repo DIR [--listen ADDR] [--bootstrap ADDR]...\n");
    return 2;
  }
  const std::string mode = argv[1];
  if (mode != "corrupt" && mode != "stall" && mode != "forge") {
    std::fprintf(stderr, "misbehaving_member: unknown mode '%s'\n", mode.c_str());
    return 2;
  }
  DaemonOptions options;
  std::vector<std::string> listen, bootstrap;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--repo") options.repo_dir = value;
    else if (flag == "--listen") listen.push_back(value);
    else if (flag == "--bootstrap") bootstrap.push_back(value);
    else {
      std::fprintf(stderr, "misbehaving_member: unknown option '%s'\n", flag.c_str());
      return 2;
    }
  }
  if (options.repo_dir.empty()) {
    std::fprintf(stderr, "misbehaving_member: --repo is required\n");
    return 2;
  }
  Log log(LogLevel::info);
  bool after_revocation = false;
  if (mode == "forge") {
    // A member like codex-gossip run: the repository's gossip.conf.
    auto config = load_config(NodePaths{options.repo_dir}.config(), false);
    if (!config) {
      std::fprintf(stderr, "misbehaving_member: %s\n", config.error().message.c_str());
      return 1;
    }
    options.config = *config;
    auto key = Ed25519Key::load_or_create(NodePaths{options.repo_dir}.node_key());
    if (!key) {
      std::fprintf(stderr, "misbehaving_member: %s\n", key.error().message.c_str());
      return 1;
    }
    options.core_wrapper = [&log, &after_revocation, key = *key](std::unique_ptr<ProtocolCore> inner) {
      return std::unique_ptr<ProtocolCore>(new ForgingCore(std::move(inner), key, log, after_revocation));
    };
  } else {
    options.config.protocol_core = false;
  }
  if (!listen.empty()) options.config.listen = listen;
  for (const auto& b : bootstrap) options.config.bootstrap.push_back(b);
  if (mode == "corrupt") {
    options.serve_hook = [](Bytes& block) {
      if (!block.empty()) block[block.size() / 2] ^= 0x01;
      return true;
    };
  } else if (mode == "stall") {
    options.serve_hook = [](Bytes&) { return false; };
  }
  asio::io_context io(1);
  auto daemon = Daemon::create(io, options, log);
  if (!daemon) {
    std::fprintf(stderr, "misbehaving_member: %s\n", daemon.error().message.c_str());
    return 1;
  }
  if (auto st = (*daemon)->start(); !st) {
    std::fprintf(stderr, "misbehaving_member: %s\n", st.error().message.c_str());
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int) {
    if (ec) return;
    (*daemon)->stop();
    io.stop();
  });
  // forge: SIGUSR1 starts the after-revocation resends.
  asio::signal_set usr1(io, SIGUSR1);
  usr1.async_wait([&](std::error_code ec, int) {
    if (ec) return;
    after_revocation = true;
    log.info("forge", "resending validly signed heartbeats each second from now on");
  });
  io.run();
  return 0;
}
