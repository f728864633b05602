// Our side of the js-libp2p interop test: a Host with a fresh key.
//   interop_peer listen          prints its /ip4/.../tcp/N/p2p/ID address on
//                                stdout, serves ping and identify until stdin
//                                closes; reports each peer that connects on stderr
//   interop_peer dial MULTIADDR  dials (the address carries /p2p/ID), pings
//                                three times, asks for identify, prints the
//                                peer's agent version; exit 0 only if all worked
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include <asio.hpp>

#include "codex/net/host.hpp"

using namespace codex;
using namespace codex::net;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "interop_peer: %s\n", what.c_str());
  return 1;
}

asio::awaitable<int> dial(Host& host, Multiaddr addr) {
  if (!addr.peer()) co_return fail("the address needs /p2p/<peer id>");
  const PeerId peer = *addr.peer();
  std::vector<Multiaddr> addrs{addr};
  for (int i = 0; i < 3; ++i) {
    auto rtt = co_await host.ping(peer, addrs);
    if (!rtt) co_return fail("ping: " + rtt.error().message);
    std::fprintf(stderr, "interop_peer: ping %d: %lld us\n", i + 1, static_cast<long long>(rtt->count()));
  }
  auto info = co_await host.identify(peer, addrs);
  if (!info) co_return fail("identify: " + info.error().message);
  if (info->public_key != ed25519_public_key_protobuf(*peer.ed25519_public_key()))
    co_return fail("identify: public key is not the peer's");
  std::printf("agent=%s protocols=%zu\n", info->agent_version.c_str(), info->protocols.size());
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  auto key = Ed25519Key::generate();
  if (!key) return fail(key.error().message);
  asio::io_context io;
  Host host(io, *key);
  if (mode == "listen") {
    if (auto st = host.listen(*Multiaddr::parse("/ip4/127.0.0.1/tcp/0")); !st) return fail(st.error().message);
    host.on_peer_connected([](const PeerId& p) { std::fprintf(stderr, "interop_peer: connected %s\n", p.to_string().c_str()); });
    std::printf("%s\n", host.listen_addresses().at(0).with_peer(host.peer_id()).to_string().c_str());
    std::fflush(stdout);
    // Serve until stdin closes (the test ends us by closing it).
    asio::posix::stream_descriptor in(io, ::dup(STDIN_FILENO));
    std::array<char, 256> buf;
    std::function<void(std::error_code, std::size_t)> on_read = [&](std::error_code ec, std::size_t) {
      if (ec) {
        host.close();
        io.stop();
        return;
      }
      in.async_read_some(asio::buffer(buf), on_read);
    };
    in.async_read_some(asio::buffer(buf), on_read);
    io.run();
    return 0;
  }
  if (mode == "dial" && argc == 3) {
    auto addr = Multiaddr::parse(argv[2]);
    if (!addr) return fail(addr.error().message);
    int code = 1;
    bool done = false;
    asio::co_spawn(io, dial(host, *addr), [&](std::exception_ptr e, int c) {
      code = e ? 1 : c;
      done = true;
      host.close();
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(100));
    if (!done) return fail("timed out");
    io.run_for(std::chrono::milliseconds(200));  // let the GoAway go out
    return code;
  }
  return fail("usage: interop_peer listen | dial MULTIADDR");
}
