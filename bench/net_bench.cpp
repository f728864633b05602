// Transport measurements (not a test: prints figures for people).
//   net_bench idle PEERS SECONDS   a hub Host with PEERS peers (another
//                                  process) connected and idle: its RSS and
//                                  CPU time over SECONDS of idleness
//   net_bench throughput MIB       MIB MiB over one yamux stream between two
//                                  processes on loopback (TLS 1.3, AES-GCM)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <asio.hpp>

#include "codex/net/host.hpp"

using namespace codex;
using namespace codex::net;

namespace {

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void pump_for(asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
}

template <class F>
bool pump_until(asio::io_context& io, F cond, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond() && std::chrono::steady_clock::now() < deadline) pump_for(io, std::chrono::milliseconds(20));
  return cond();
}

// Runs `peers` Hosts that dial `hub` and stay connected until killed.
[[noreturn]] void run_peers(const Multiaddr& hub, int peers) {
  asio::io_context io;
  std::vector<std::unique_ptr<Host>> hosts;
  const PeerId hub_id = *hub.peer();
  std::vector<Multiaddr> addrs{hub};
  for (int i = 0; i < peers; ++i) hosts.push_back(std::make_unique<Host>(io, *Ed25519Key::generate()));
  // One dial at a time: a burst of 100 would meet the hub's limit of 32
  // connections in handshake at once (the excess is refused, by design).
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    for (auto& h : hosts) {
      auto rtt = co_await h->ping(hub_id, addrs);
      if (!rtt) std::fprintf(stderr, "peer: %s\n", rtt.error().message.c_str());
    }
  }, asio::detached);
  io.run();
  std::_Exit(0);
}

int idle(int peers, int seconds) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  asio::io_context io;
  Host hub(io, *Ed25519Key::generate());
  if (!hub.listen(*Multiaddr::parse("/ip4/127.0.0.1/tcp/0"))) return 1;
  const Multiaddr addr = hub.listen_addresses().at(0).with_peer(hub.peer_id());
  const pid_t child = fork();
  if (child == 0) run_peers(addr, peers);
  const auto start = std::chrono::steady_clock::now();
  if (!pump_until(io, [&] { return hub.connection_count() == static_cast<std::size_t>(peers); }, std::chrono::seconds(120))) {
    std::fprintf(stderr, "only %zu of %d peers connected\n", hub.connection_count(), peers);
    kill(child, SIGKILL);
    return 1;
  }
  const double setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  pump_for(io, std::chrono::milliseconds(1000));  // let pings and identify settle
  const double cpu0 = cpu_seconds();
  const long rss0 = rss_kib();
  pump_for(io, std::chrono::seconds(seconds));
  const double cpu = cpu_seconds() - cpu0;
  std::printf("peers connected: %zu (in %.2f s)\n", hub.connection_count(), setup);
  std::printf("hub RSS: %ld KiB at start of idle, %ld KiB after %d s idle\n", rss0, rss_kib(), seconds);
  std::printf("hub CPU over %d s idle: %.3f s (%.3f%% of one core)\n", seconds, cpu, 100.0 * cpu / seconds);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  return 0;
}

int throughput(int mib) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  const pid_t child = fork();
  if (child == 0) {
    // Receiver: count bytes until EOF, answer with the count.
    asio::io_context io;
    Host host(io, *Ed25519Key::generate());
    host.handle("/bench/sink/1.0.0", [](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
      std::vector<std::uint8_t> buf(256 * 1024);
      std::uint64_t total = 0;
      for (;;) {
        auto n = co_await s->read_some(buf);
        if (!n || *n == 0) break;
        total += *n;
      }
      (void)co_await s->write(ByteView(reinterpret_cast<const std::uint8_t*>(&total), sizeof total));
      co_await s->close_write();
    });
    if (!host.listen(*Multiaddr::parse("/ip4/127.0.0.1/tcp/0"))) std::_Exit(1);
    const std::string a = host.listen_addresses().at(0).with_peer(host.peer_id()).to_string() + "\n";
    (void)!write(pipefd[1], a.data(), a.size());
    io.run();
    std::_Exit(0);
  }
  char buf[512] = {};
  std::size_t got = 0;
  while (got == 0 || buf[got - 1] != '\n') {
    const ssize_t n = read(pipefd[0], buf + got, sizeof buf - 1 - got);
    if (n <= 0) return 1;
    got += static_cast<std::size_t>(n);
  }
  buf[got - 1] = 0;
  const Multiaddr addr = *Multiaddr::parse(buf);
  asio::io_context io;
  Host host(io, *Ed25519Key::generate());
  std::vector<Multiaddr> addrs{addr};
  int code = 1;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto s = co_await host.open_stream(*addr.peer(), addrs, "/bench/sink/1.0.0");
    if (!s) {
      std::fprintf(stderr, "open: %s\n", s.error().message.c_str());
      co_return;
    }
    std::vector<std::uint8_t> chunk(1 << 20, 0xab);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < mib; ++i)
      if (!co_await (*s)->write(chunk)) co_return;
    co_await (*s)->close_write();
    std::uint64_t total = 0;
    if (!co_await (*s)->read_exact(MutableByteView(reinterpret_cast<std::uint8_t*>(&total), sizeof total))) co_return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%llu bytes over one yamux stream in %.3f s: %.1f MiB/s\n", static_cast<unsigned long long>(total),
                secs, total / secs / (1 << 20));
    code = total == static_cast<std::uint64_t>(mib) << 20 ? 0 : 1;
    host.close();
  }, asio::detached);
  io.run_for(std::chrono::seconds(300));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "idle" && argc == 4) return idle(std::atoi(argv[2]), std::atoi(argv[3]));
  if (mode == "throughput" && argc == 3) return throughput(std::atoi(argv[2]));
  std::fprintf(stderr, "usage: net_bench idle PEERS SECONDS | throughput MIB\n");
  return 2;
}
