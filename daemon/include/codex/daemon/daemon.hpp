// The codex-gossip daemon: one member on the network. It owns the libp2p Host
// and, on one Asio event loop (one thread):
//  - admission: right after a connection is up each side shows its
//    certificate on /codex/admission/1.0.0; the Host's protocol gate refuses
//    every community protocol to a peer until its certificate has passed, and
//    again once it is revoked or expired; revocations spread to every peer;
//  - block exchange (/codex/blockexc/1.0.0): serves blocks from the
//    repository and fetches blocks from members, every block verified before
//    it is stored (docs/block-exchange.md);
//  - the tree protocol (/codex/tree/1.0.0): a dataset tree's leaf list;
//  - the control socket through which codex-gossip and codex-get reach it;
//  - the protocol core seam (ProtocolCore, /codex/altruistic/1.0.0).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include <asio.hpp>

#include "codex/daemon/config.hpp"
#include "codex/daemon/log.hpp"
#include "codex/daemon/protocol_core.hpp"
#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex::daemon {

inline constexpr std::string_view kAdmissionProtocol = "/codex/admission/1.0.0";
inline constexpr std::string_view kTreeProtocol = "/codex/tree/1.0.0";
inline constexpr std::string_view kAltruisticProtocol = "/codex/altruistic/1.0.0";

struct DaemonOptions {
  std::filesystem::path repo_dir;
  Config config;
  // Test seam (tests/daemon/misbehaving_member.cpp; codex-gossip leaves it
  // empty): called with each block (not manifest) about to be served; it may change the
  // bytes (a member that lies) or return false to send nothing for that
  // request (a member that stalls).
  std::function<bool(Bytes& block)> serve_hook;
  // Test seam (tests/daemon/misbehaving_member.cpp; empty in codex-gossip):
  // wraps the protocol core the daemon made, so a test member can add,
  // change or replay what its core sends (forged heartbeats).
  std::function<std::unique_ptr<ProtocolCore>(std::unique_ptr<ProtocolCore>)> core_wrapper;
};

class Daemon {
 public:
  // Loads the node key (made on first use), certificate and revocations and
  // opens the repository; nothing listens yet.
  static Result<std::unique_ptr<Daemon>> create(asio::io_context& io, DaemonOptions options, Log& log);
  ~Daemon();
  // Listens, opens the control socket, starts dialling the bootstrap peers.
  Status start();
  // Closes every connection and the control socket; run() then returns.
  void stop();
  // The protocol core to drive (optional; without one the daemon only
  // exchanges blocks). Set before start().
  void set_core(std::unique_ptr<ProtocolCore> core);

  struct Impl;

 private:
  explicit Daemon(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace codex::daemon
