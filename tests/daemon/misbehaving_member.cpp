// A member that misbehaves on purpose, for tests/daemon/lying_member.sh: the
// real daemon (admission, serving, everything) with DaemonOptions::serve_hook
// set so that it lies or stalls when asked for blocks.
//   misbehaving_member corrupt|stall --repo DIR [--listen ADDR] [--bootstrap ADDR]...
// corrupt: every block it serves has one byte flipped (its presences are
// honest: it says it has the block, then sends a wrong one).
// stall: it answers want-have but never sends a block (connection kept).
// Runs until SIGINT/SIGTERM; logs like codex-gossip run.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "codex/daemon/daemon.hpp"

using namespace codex;
using namespace codex::daemon;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: misbehaving_member corrupt|stall --repo DIR [--listen ADDR] [--bootstrap ADDR]...\n");
    return 2;
  }
  const std::string mode = argv[1];
  if (mode != "corrupt" && mode != "stall") {
    std::fprintf(stderr, "misbehaving_member: unknown mode '%s'\n", mode.c_str());
    return 2;
  }
  DaemonOptions options;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--repo") options.repo_dir = value;
    else if (flag == "--listen") options.config.listen.push_back(value);
    else if (flag == "--bootstrap") options.config.bootstrap.push_back(value);
    else {
      std::fprintf(stderr, "misbehaving_member: unknown option '%s'\n", flag.c_str());
      return 2;
    }
  }
  if (options.repo_dir.empty()) {
    std::fprintf(stderr, "misbehaving_member: --repo is required\n");
    return 2;
  }
  options.config.protocol_core = false;
  if (mode == "corrupt") {
    options.serve_hook = [](Bytes& block) {
      if (!block.empty()) block[block.size() / 2] ^= 0x01;
      return true;
    };
  } else {
    options.serve_hook = [](Bytes&) { return false; };
  }
  Log log(LogLevel::info);
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
  io.run();
  return 0;
}
