// A swarm of members for the daemon's footprint measurement
// (bench/daemon_footprint.sh; not a test). N real daemons (codex_daemon:
// admission, block exchange, the protocol core) run in this one process,
// each with its own key and repository under DIR/mI, each admitted by the
// owner key, all dialling one daemon (the one measured) as their bootstrap
// peer. Runs until SIGINT/SIGTERM.
//   swarm_bench N DIR OWNER_KEY BOOTSTRAP_MULTIADDR [core|no-core]
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "codex/daemon/daemon.hpp"
#include "codex/daemon/node_files.hpp"

using namespace codex;
using namespace codex::daemon;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: swarm_bench N DIR OWNER_KEY BOOTSTRAP_MULTIADDR [core|no-core]\n");
    return 2;
  }
  const int n = std::atoi(argv[1]);
  const std::filesystem::path dir = argv[2];
  const bool core = argc < 6 || std::string(argv[5]) != "no-core";
  auto owner = Ed25519Key::load_pem(argv[3]);
  if (!owner) {
    std::fprintf(stderr, "swarm_bench: %s\n", owner.error().message.c_str());
    return 1;
  }
  asio::io_context io(1);
  Log log(LogLevel::warn);
  std::vector<std::unique_ptr<Daemon>> members;
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  for (int i = 0; i < n; ++i) {
    NodePaths paths{dir / ("m" + std::to_string(i))};
    auto made = ensure_dir(paths.dir);
    auto key = made ? Ed25519Key::load_or_create(paths.node_key()) : Result<Ed25519Key>(made.error());
    if (!key) {
      std::fprintf(stderr, "swarm_bench: %s\n", key.error().message.c_str());
      return 1;
    }
    const auto cert = MembershipCertificate::issue(*owner, key->peer_id(), now - 60, now + 86400, 1);
    if (auto st = write_file_atomic(paths.certificate(), cert.encode()); !st) {
      std::fprintf(stderr, "swarm_bench: %s\n", st.error().message.c_str());
      return 1;
    }
    DaemonOptions options;
    options.repo_dir = paths.dir;
    options.config.listen.push_back("/ip4/127.0.0.1/tcp/0");
    options.config.bootstrap.push_back(argv[4]);
    options.config.protocol_core = core;
    options.config.log_level = LogLevel::warn;
    auto member = Daemon::create(io, options, log);
    if (!member) {
      std::fprintf(stderr, "swarm_bench: member %d: %s\n", i, member.error().message.c_str());
      return 1;
    }
    if (auto st = (*member)->start(); !st) {
      std::fprintf(stderr, "swarm_bench: member %d: %s\n", i, st.error().message.c_str());
      return 1;
    }
    members.push_back(std::move(*member));
  }
  std::fprintf(stderr, "swarm_bench: %d members started\n", n);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int) {
    if (ec) return;
    for (auto& m : members) m->stop();
    io.stop();
  });
  io.run();
  return 0;
}
