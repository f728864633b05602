// Host to Host over real loopback sockets: TLS with the libp2p certificate,
// multistream, yamux, ping, identify, the protocol gate, peer-id checks,
// connection callbacks, and what the listening port does with garbage and
// half-open connections.
#include "codex/net/host.hpp"

#include <gtest/gtest.h>

#include "codex/net/multistream.hpp"
#include "net_test_support.hpp"

namespace codex::net {
namespace {

using test::pump_until;
using test::run;

constexpr std::string_view kEcho = "/test/echo/1.0.0";
constexpr std::string_view kSecret = "/test/secret/1.0.0";

Host::Handler echo_handler() {
  return [](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
    for (;;) {
      auto m = co_await read_length_prefixed(*s, 1 << 20);
      if (!m) co_return;
      if (!co_await write_length_prefixed(*s, *m)) co_return;
    }
  };
}

struct TwoHosts {
  asio::io_context io;
  Ed25519Key ka = *Ed25519Key::generate(), kb = *Ed25519Key::generate();
  Host a, b;
  std::vector<Multiaddr> a_addrs;
  explicit TwoHosts(Limits limits = {}) : a(io, ka, limits), b(io, kb, limits) {
    EXPECT_TRUE(a.listen(*Multiaddr::parse("/ip4/127.0.0.1/tcp/0")).ok());
    a_addrs = a.listen_addresses();
    EXPECT_EQ(a_addrs.size(), 1u);
    a.handle(std::string(kEcho), echo_handler());
    a.handle(std::string(kSecret), echo_handler());
  }
};

TEST(Host, DialsNegotiatesAndEchoes) {
  TwoHosts t;
  std::vector<PeerId> connected;
  t.a.on_peer_connected([&](const PeerId& p) { connected.push_back(p); });
  auto reply = run(t.io, [&]() -> asio::awaitable<Result<Bytes>> {
    auto s = co_await t.b.open_stream(t.a.peer_id(), t.a_addrs, kEcho);
    if (!s) co_return std::move(s).error();
    EXPECT_EQ((*s)->protocol(), kEcho);
    EXPECT_EQ((*s)->remote_peer(), t.a.peer_id());
    Bytes big(700 * 1024, 0x5a);  // more than two windows
    if (auto st = co_await write_length_prefixed(**s, big); !st) co_return st.error();
    co_return co_await read_length_prefixed(**s, 1 << 20);
  }());
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->size(), 700u * 1024);
  EXPECT_EQ(connected, std::vector<PeerId>{t.b.peer_id()});
  EXPECT_EQ(t.b.connected_peers(), std::vector<PeerId>{t.a.peer_id()});
  // A second stream reuses the connection.
  auto again = run(t.io, t.b.open_stream(t.a.peer_id(), {}, kEcho));
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(t.b.connection_count(), 1u);
}

TEST(Host, PingAndIdentify) {
  TwoHosts t;
  auto rtt = run(t.io, t.b.ping(t.a.peer_id(), t.a_addrs));
  ASSERT_TRUE(rtt.ok()) << rtt.error().message;
  auto info = run(t.io, t.b.identify(t.a.peer_id(), t.a_addrs));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->public_key, ed25519_public_key_protobuf(t.ka.public_key()));
  EXPECT_EQ(info->agent_version, "codex-tools/0.1.0");
  ASSERT_EQ(info->listen_addrs.size(), 1u);
  EXPECT_EQ(*Multiaddr::from_bytes(info->listen_addrs[0]), t.a_addrs[0]);
  EXPECT_TRUE(Multiaddr::from_bytes(info->observed_addr).ok());
  EXPECT_NE(std::find(info->protocols.begin(), info->protocols.end(), std::string(kEcho)), info->protocols.end());
}

TEST(Host, GateRefusesProtocolsButNotPingOrIdentify) {
  TwoHosts t;
  t.a.set_protocol_gate([](const PeerId&, std::string_view p) { return p != kSecret; });
  auto secret = run(t.io, t.b.open_stream(t.a.peer_id(), t.a_addrs, kSecret));
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.error().code, Errc::rejected);
  EXPECT_TRUE(run(t.io, t.b.open_stream(t.a.peer_id(), t.a_addrs, kEcho)).ok());
  EXPECT_TRUE(run(t.io, t.b.ping(t.a.peer_id(), t.a_addrs)).ok());
  auto info = run(t.io, t.b.identify(t.a.peer_id(), t.a_addrs));
  ASSERT_TRUE(info.ok());
  // Identify does not advertise what the gate refuses.
  EXPECT_EQ(std::find(info->protocols.begin(), info->protocols.end(), std::string(kSecret)), info->protocols.end());
  t.a.set_protocol_gate([](const PeerId&, std::string_view) { return false; });
  EXPECT_FALSE(run(t.io, t.b.open_stream(t.a.peer_id(), t.a_addrs, kEcho)).ok());
  EXPECT_TRUE(run(t.io, t.b.ping(t.a.peer_id(), t.a_addrs)).ok());
}

TEST(Host, RefusesAPeerThatIsNotTheOneDialled) {
  TwoHosts t;
  auto someone_else = Ed25519Key::generate()->peer_id();
  auto r = run(t.io, t.b.open_stream(someone_else, t.a_addrs, kEcho));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rejected);
  EXPECT_NE(r.error().message.find("another peer id"), std::string::npos) << r.error().message;
  EXPECT_TRUE(t.b.connected_peers().empty());
}

TEST(Host, DisconnectCallbacksAndRedial) {
  TwoHosts t;
  std::vector<PeerId> gone;
  t.a.on_peer_disconnected([&](const PeerId& p) { gone.push_back(p); });
  ASSERT_TRUE(run(t.io, t.b.ping(t.a.peer_id(), t.a_addrs)).ok());
  ASSERT_TRUE(pump_until(t.io, [&] { return t.a.is_connected(t.b.peer_id()); }));
  t.b.disconnect(t.a.peer_id());
  ASSERT_TRUE(pump_until(t.io, [&] { return !gone.empty(); }));
  EXPECT_EQ(gone, std::vector<PeerId>{t.b.peer_id()});
  EXPECT_TRUE(run(t.io, t.b.ping(t.a.peer_id(), t.a_addrs)).ok());
}

// The test partition (codex-gossip partition): a blocked peer's connection
// is cut, its dials are refused on both sides, and lifting the block heals it.
TEST(Host, BlockedPeerIsCutAndRefusedUntilUnblocked) {
  TwoHosts t;
  std::vector<PeerId> gone;
  t.a.on_peer_disconnected([&](const PeerId& p) { gone.push_back(p); });
  ASSERT_TRUE(run(t.io, t.b.ping(t.a.peer_id(), t.a_addrs)).ok());
  ASSERT_TRUE(pump_until(t.io, [&] { return t.a.is_connected(t.b.peer_id()); }));
  t.a.set_blocked({t.b.peer_id()});
  EXPECT_TRUE(t.a.blocked(t.b.peer_id()));
  ASSERT_TRUE(pump_until(t.io, [&] { return !gone.empty() && !t.b.is_connected(t.a.peer_id()); }));
  EXPECT_EQ(gone, std::vector<PeerId>{t.b.peer_id()});
  // B dials A: A drops the connection once the handshake names B.
  auto in = run(t.io, t.b.open_stream(t.a.peer_id(), t.a_addrs, kEcho));
  EXPECT_FALSE(in.ok());
  EXPECT_FALSE(t.a.is_connected(t.b.peer_id()));
  // A does not dial B at all.
  ASSERT_TRUE(t.b.listen(*Multiaddr::parse("/ip4/127.0.0.1/tcp/0")).ok());
  auto out = run(t.io, t.a.ping(t.b.peer_id(), t.b.listen_addresses()));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Errc::unavailable);
  t.a.set_blocked({});
  EXPECT_FALSE(t.a.blocked(t.b.peer_id()));
  EXPECT_TRUE(run(t.io, t.b.ping(t.a.peer_id(), t.a_addrs)).ok());
}

TEST(Host, ConcurrentOpensShareOneDial) {
  TwoHosts t;
  int ok = 0;
  for (int i = 0; i < 8; ++i)
    asio::co_spawn(t.io, [&]() -> asio::awaitable<void> {
      auto s = co_await t.b.open_stream(t.a.peer_id(), t.a_addrs, kEcho);
      if (s) ++ok;
    }, asio::detached);
  ASSERT_TRUE(pump_until(t.io, [&] { return ok == 8; }));
  EXPECT_EQ(t.b.connection_count(), 1u);
}

asio::awaitable<asio::ip::tcp::socket> raw_connect(asio::io_context& io, const Multiaddr& a) {
  asio::ip::tcp::socket s(io);
  co_await s.async_connect({asio::ip::make_address(a.host()), a.port()}, asio::use_awaitable);
  co_return s;
}

// Reads until the peer closes; returns the bytes it sent.
asio::awaitable<std::size_t> read_until_closed(asio::ip::tcp::socket& s) {
  std::size_t total = 0;
  std::array<char, 4096> buf;
  for (;;) {
    std::error_code ec;
    auto n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return total;
    total += n;
  }
}

TEST(Host, GarbageOnTheListeningPortIsDroppedAndServiceGoesOn) {
  Limits limits;
  limits.handshake_timeout = std::chrono::milliseconds(1000);  // the "/noise" speaker waits it out
  TwoHosts t(limits);
  auto closed = run(t.io, [&]() -> asio::awaitable<bool> {
    auto s = co_await raw_connect(t.io, t.a_addrs[0]);
    Bytes junk(5000);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>(i * 7);
    std::error_code ec;
    co_await asio::async_write(s, asio::buffer(junk), asio::redirect_error(asio::use_awaitable, ec));
    co_await read_until_closed(s);
    co_return true;
  }());
  EXPECT_TRUE(closed);
  // A TLS-less multistream speaker is refused too.
  run(t.io, [&]() -> asio::awaitable<bool> {
    auto s = co_await raw_connect(t.io, t.a_addrs[0]);
    Bytes m = multistream::encode(multistream::kProtocolId);
    Bytes noise = multistream::encode("/noise");
    m.insert(m.end(), noise.begin(), noise.end());
    co_await asio::async_write(s, asio::buffer(m), asio::use_awaitable);
    co_await read_until_closed(s);
    co_return true;
  }());
  EXPECT_EQ(t.a.connection_count(), 0u);
  EXPECT_TRUE(run(t.io, t.b.ping(t.a.peer_id(), t.a_addrs)).ok());
}

TEST(Host, HalfOpenConnectionsAreClosedAfterTheHandshakeTimeout) {
  Limits limits;
  limits.handshake_timeout = std::chrono::milliseconds(300);
  TwoHosts t(limits);
  const auto start = std::chrono::steady_clock::now();
  run(t.io, [&]() -> asio::awaitable<bool> {
    auto s = co_await raw_connect(t.io, t.a_addrs[0]);  // connect, then say nothing
    co_await read_until_closed(s);
    co_return true;
  }());
  // Closed by the host, not by the test's own bound.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(Host, PendingHandshakeLimitKeepsServingAuthenticatedPeers) {
  Limits limits;
  limits.max_pending_handshakes = 4;
  limits.handshake_timeout = std::chrono::milliseconds(2000);
  TwoHosts t(limits);
  std::vector<asio::ip::tcp::socket> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(run(t.io, raw_connect(t.io, t.a_addrs[0])));
  test::pump(t.io, std::chrono::milliseconds(100));
  // The slots are full: a fifth connection is closed at once...
  auto fifth = run(t.io, [&]() -> asio::awaitable<std::size_t> {
    auto s = co_await raw_connect(t.io, t.a_addrs[0]);
    co_return co_await read_until_closed(s);
  }());
  EXPECT_EQ(fifth, 0u);
  // ...and once the idle ones time out, a real peer gets in.
  auto rtt = run(t.io, [&]() -> asio::awaitable<Result<std::chrono::microseconds>> {
    asio::steady_timer wait(t.io, std::chrono::milliseconds(2500));
    co_await wait.async_wait(asio::use_awaitable);
    co_return co_await t.b.ping(t.a.peer_id(), t.a_addrs);
  }());
  EXPECT_TRUE(rtt.ok()) << rtt.error().message;
}

TEST(Host, ConnectionLimitPerPeer) {
  Limits limits;
  limits.max_connections_per_peer = 1;
  TwoHosts t(limits);
  ASSERT_TRUE(t.b.listen(*Multiaddr::parse("/ip4/127.0.0.1/tcp/0")).ok());
  ASSERT_TRUE(run(t.io, t.b.ping(t.a.peer_id(), t.a_addrs)).ok());
  ASSERT_TRUE(pump_until(t.io, [&] { return t.a.connection_count() == 1; }));
  // a already has b connected: a's own dial is refused by b's per-peer limit,
  // and a reuses the connection it has instead of dialling.
  auto r = run(t.io, t.a.ping(t.b.peer_id(), t.b.listen_addresses()));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(t.a.connection_count(), 1u);
}

}  // namespace
}  // namespace codex::net
