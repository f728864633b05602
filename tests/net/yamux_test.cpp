// yamux: the header codec, and Sessions over a real socket pair, including
// flow control (a reader that does not read holds the writer at one window)
// and a hostile peer writing raw frames.
#include "codex/net/yamux.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "net_test_support.hpp"

namespace codex::net::yamux {
namespace {

using test::pump_until;
using test::run;

TEST(YamuxFrame, HeaderRoundTripsBigEndian) {
  FrameHeader h{FrameType::window_update, kSyn | kAck, 0x01020304, 0x0a0b0c0d};
  auto b = encode_header(h);
  EXPECT_EQ(to_hex(b), "0001000301020304" "0a0b0c0d");
  auto d = decode_header(b);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, h);
}

TEST(YamuxFrame, RefusesHostileHeaders) {
  auto bad = [](std::string hex) { return !decode_header(*from_hex(hex)).ok(); };
  EXPECT_TRUE(bad("010000000000000100000000"));  // version 1
  EXPECT_TRUE(bad("000400000000000100000000"));  // type 4
  EXPECT_TRUE(bad("000000100000000100000000"));  // unknown flag bit
  EXPECT_TRUE(bad("000200010000000100000000"));  // ping on a stream
  EXPECT_TRUE(bad("000300000000000500000000"));  // GoAway on a stream
  EXPECT_TRUE(bad("000000000000000000000001"));  // data on stream 0
  EXPECT_TRUE(bad("000300000000000000000007"));  // GoAway code 7
  EXPECT_TRUE(bad("0000000000000001000000"));    // 11 bytes
  EXPECT_FALSE(bad("000200010000000000000007")); // ping SYN, opaque 7
}

struct SessionPair {
  asio::io_context io;
  std::shared_ptr<Session> client, server;
  std::vector<std::shared_ptr<Stream>> accepted;
  std::optional<Error> client_closed, server_closed;
  explicit SessionPair(SessionLimits limits = {}) {
    auto [a, b] = test::transport_pair(io);
    client = std::make_shared<Session>(io.get_executor(), std::move(a), Session::Role::client, limits);
    server = std::make_shared<Session>(io.get_executor(), std::move(b), Session::Role::server, limits);
    client->start([](std::shared_ptr<Stream>) {}, [this](const Error& e) { client_closed = e; });
    server->start([this](std::shared_ptr<Stream> s) { accepted.push_back(std::move(s)); },
                  [this](const Error& e) { server_closed = e; });
  }
};

Bytes pattern(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 31 + i / 251);
  return b;
}

TEST(YamuxSession, MovesMoreThanAWindowBothWays) {
  SessionPair p;
  const Bytes data = pattern(3 * kInitialWindow + 12345);
  auto opened = p.client->open_stream();
  ASSERT_TRUE(opened.ok());
  auto stream = *opened;
  // Server: echo everything back, then FIN.
  asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
    while (p.accepted.empty()) {
      asio::steady_timer t(p.io, std::chrono::milliseconds(2));
      co_await t.async_wait(asio::use_awaitable);
    }
    auto s = p.accepted.front();
    Bytes buf(10000);
    for (;;) {
      auto n = co_await s->read_some(buf);
      if (!n || *n == 0) break;
      if (!co_await s->write(ByteView(buf.data(), *n))) break;
    }
    co_await s->close_write();
  }, asio::detached);
  auto echoed = run(p.io, [&]() -> asio::awaitable<Result<Bytes>> {
    Bytes got;
    // Write and read concurrently, or the echo would stall on windows.
    bool wrote = false;
    asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
      auto st = co_await stream->write(data);
      EXPECT_TRUE(st.ok());
      co_await stream->close_write();
      wrote = true;
    }, asio::detached);
    Bytes buf(7000);
    for (;;) {
      auto n = co_await stream->read_some(buf);
      if (!n) co_return std::move(n).error();
      if (*n == 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    EXPECT_TRUE(wrote);
    co_return got;
  }());
  ASSERT_TRUE(echoed.ok()) << echoed.error().message;
  EXPECT_EQ(*echoed, data);
  // Closed both ways: the streams are gone from both sessions.
  EXPECT_TRUE(pump_until(p.io, [&] { return p.client->stream_count() == 0 && p.server->stream_count() == 0; }));
}

TEST(YamuxSession, AReaderThatDoesNotReadHoldsTheWriterAtOneWindow) {
  SessionPair p;
  auto stream = *p.client->open_stream();
  bool done = false;
  asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
    (void)co_await stream->write(pattern(4 * kInitialWindow));
    done = true;
  }, asio::detached);
  ASSERT_TRUE(pump_until(p.io, [&] { return p.server->buffered_bytes() == kInitialWindow; }));
  test::pump(p.io, std::chrono::milliseconds(200));
  EXPECT_EQ(p.server->buffered_bytes(), kInitialWindow);  // not a byte more than the window
  EXPECT_FALSE(done);
  // Reading returns credit; the writer finishes.
  ASSERT_EQ(p.accepted.size(), 1u);
  auto reader = p.accepted.front();
  auto total = run(p.io, [&]() -> asio::awaitable<std::size_t> {
    std::size_t n = 0;
    Bytes buf(65536);
    while (n < 4 * kInitialWindow) {
      auto r = co_await reader->read_some(buf);
      if (!r || *r == 0) break;
      n += *r;
    }
    co_return n;
  }());
  EXPECT_EQ(total, 4 * kInitialWindow);
  EXPECT_TRUE(pump_until(p.io, [&] { return done; }));
}

TEST(YamuxSession, ResetReachesThePeer) {
  SessionPair p;
  auto stream = *p.client->open_stream();
  run(p.io, [&]() -> asio::awaitable<bool> { co_return (co_await stream->write(as_bytes("x"))).ok(); }());
  ASSERT_TRUE(pump_until(p.io, [&] { return p.accepted.size() == 1; }));
  stream->reset();
  auto r = run(p.io, [&]() -> asio::awaitable<Result<std::size_t>> {
    Bytes buf(10);
    auto first = co_await p.accepted[0]->read_some(buf);  // the "x"
    if (!first) co_return first;
    co_return co_await p.accepted[0]->read_some(buf);
  }());
  EXPECT_FALSE(r.ok());
}

TEST(YamuxSession, StreamLimitRefusesExtraStreamsWithRst) {
  SessionLimits limits;
  limits.max_streams = 3;
  SessionPair p(limits);
  std::vector<std::shared_ptr<Stream>> mine;
  for (int i = 0; i < 3; ++i) mine.push_back(*p.client->open_stream());
  EXPECT_FALSE(p.client->open_stream().ok());  // our own side counts too
  ASSERT_TRUE(pump_until(p.io, [&] { return p.accepted.size() == 3; }));
  EXPECT_EQ(p.server->stream_count(), 3u);
}

TEST(YamuxSession, DroppedStreamHandleResetsIt) {
  SessionPair p;
  { auto s = *p.client->open_stream(); }
  EXPECT_EQ(p.client->stream_count(), 0u);
  test::pump(p.io, std::chrono::milliseconds(50));
  EXPECT_EQ(p.server->stream_count(), 0u);
}

TEST(YamuxSession, DroppingAfterCloseWriteLetsThePeerReadEverything) {
  SessionPair p;
  const Bytes data = pattern(3 * kInitialWindow);
  {
    auto s = *p.client->open_stream();
    bool written = false;
    asio::co_spawn(p.io, [&, s]() -> asio::awaitable<void> {
      EXPECT_TRUE((co_await s->write(data)).ok());
      co_await s->close_write();
      written = true;
    }, asio::detached);
    ASSERT_TRUE(pump_until(p.io, [&] { return p.accepted.size() == 1; }));
    // The handle goes away while most of the data is still unsent.
  }
  auto got = run(p.io, [&]() -> asio::awaitable<Result<Bytes>> {
    Bytes all, buf(50000);
    for (;;) {
      auto n = co_await p.accepted[0]->read_some(buf);
      if (!n) co_return std::move(n).error();
      if (*n == 0) co_return all;
      all.insert(all.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
  }());
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, data);
  // The server drops its side too (it got our FIN): both sessions forget it.
  p.accepted.clear();
  EXPECT_TRUE(pump_until(p.io, [&] { return p.client->stream_count() == 0 && p.server->stream_count() == 0; }));
}

TEST(YamuxSession, AnswersPingsAndMeasuresItsOwn) {
  SessionLimits limits;
  limits.keepalive_interval = std::chrono::milliseconds(50);
  SessionPair p(limits);
  EXPECT_TRUE(pump_until(p.io, [&] { return p.client->last_rtt().has_value(); }));
  EXPECT_FALSE(p.client->closed());
}

TEST(YamuxSession, IdleConnectionIsClosed) {
  SessionLimits limits;
  limits.idle_timeout = std::chrono::milliseconds(100);
  SessionPair p(limits);
  EXPECT_TRUE(pump_until(p.io, [&] { return p.client_closed && p.server_closed; }));
}

// A raw peer: writes frames by hand to a server Session.
struct RawPeer {
  asio::io_context io;
  std::unique_ptr<test::LocalTransport> raw;
  std::shared_ptr<Session> server;
  std::vector<std::shared_ptr<Stream>> accepted;
  std::optional<Error> closed;
  explicit RawPeer(SessionLimits limits = {}) {
    auto [a, b] = test::transport_pair(io);
    raw = std::move(a);
    server = std::make_shared<Session>(io.get_executor(), std::move(b), Session::Role::server, limits);
    server->start([this](std::shared_ptr<Stream> s) { accepted.push_back(std::move(s)); },
                  [this](const Error& e) { closed = e; });
  }
  // Whether all of it was written (a session that gave up on us closes).
  bool send(FrameHeader h, ByteView body = {}) {
    auto head = encode_header(h);
    Bytes f(head.begin(), head.end());
    f.insert(f.end(), body.begin(), body.end());
    return run(io, raw->write_all(f)).ok();
  }
  // Reads frames until one of `type` arrives (or the connection ends).
  std::optional<FrameHeader> expect(FrameType type) {
    for (;;) {
      std::array<std::uint8_t, kHeaderSize> head;
      if (!run(io, raw->read_exact(head)).ok()) return std::nullopt;
      auto h = decode_header(head);
      if (!h) return std::nullopt;
      if (h->type == FrameType::data && h->length > 0) {
        Bytes body(h->length);
        if (!run(io, raw->read_exact(body)).ok()) return std::nullopt;
      }
      if (h->type == type) return *h;
    }
  }
};

// A frame's payload arriving in pieces is not data until all of it is in: a
// reader with bytes left from an earlier frame gets those, never the part of
// the buffer still being filled (it once read zeros there).
TEST(YamuxSession, AReaderNeverSeesAPayloadStillArriving) {
  RawPeer p;
  p.send({FrameType::window_update, kSyn, 1, 0});
  Bytes first(100, 'a');
  p.send({FrameType::data, 0, 1, 100}, first);
  ASSERT_TRUE(pump_until(p.io, [&] { return !p.accepted.empty(); }));
  auto s = p.accepted[0];
  Bytes got(10);
  auto n = run(p.io, s->read_some(got));
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 10u);  // 90 bytes of the first frame left unread
  // The second frame's header and half of its payload.
  Bytes second(1000, 'b');
  auto head = encode_header({FrameType::data, 0, 1, 1000});
  Bytes part(head.begin(), head.end());
  part.insert(part.end(), second.begin(), second.begin() + 500);
  ASSERT_TRUE(run(p.io, p.raw->write_all(part)).ok());
  test::pump(p.io, std::chrono::milliseconds(50));
  Bytes all;
  Bytes buffer(4096);
  n = run(p.io, s->read_some(buffer));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 90u);
  all.insert(all.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
  ASSERT_TRUE(run(p.io, p.raw->write_all(ByteView(second).subspan(500))).ok());
  while (all.size() < 1090) {
    n = run(p.io, s->read_some(buffer));
    ASSERT_TRUE(n.ok());
    ASSERT_GT(*n, 0u);
    all.insert(all.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  EXPECT_EQ(Bytes(all.begin(), all.begin() + 90), Bytes(90, 'a'));
  EXPECT_EQ(Bytes(all.begin() + 90, all.end()), second);
}

TEST(YamuxHostile, DataBeyondTheWindowIsAProtocolError) {
  RawPeer p;
  p.send({FrameType::window_update, kSyn, 1, 0});
  Bytes big(kInitialWindow + 1, 'a');
  p.send({FrameType::data, 0, 1, static_cast<std::uint32_t>(big.size())}, big);
  auto goaway = p.expect(FrameType::go_away);
  ASSERT_TRUE(goaway.has_value());
  EXPECT_EQ(goaway->length, static_cast<std::uint32_t>(GoAwayCode::protocol_error));
  EXPECT_TRUE(pump_until(p.io, [&] { return p.closed.has_value(); }));
}

TEST(YamuxHostile, StreamIdOfOurParityIsAProtocolError) {
  RawPeer p;
  p.send({FrameType::window_update, kSyn, 2, 0});  // even: the server's ids
  auto goaway = p.expect(FrameType::go_away);
  ASSERT_TRUE(goaway.has_value());
  EXPECT_EQ(goaway->length, 1u);
}

TEST(YamuxHostile, ReusedStreamIdIsAProtocolError) {
  RawPeer p;
  p.send({FrameType::window_update, kSyn, 5, 0});
  p.send({FrameType::window_update, kSyn, 3, 0});
  auto goaway = p.expect(FrameType::go_away);
  ASSERT_TRUE(goaway.has_value());
  EXPECT_EQ(goaway->length, 1u);
}

TEST(YamuxHostile, GarbageHeaderIsAProtocolError) {
  RawPeer p;
  auto st = run(p.io, p.raw->write_all(*from_hex("ff00000000000000000000ff")));
  ASSERT_TRUE(st.ok());
  auto goaway = p.expect(FrameType::go_away);
  ASSERT_TRUE(goaway.has_value());
  EXPECT_TRUE(pump_until(p.io, [&] { return p.closed.has_value(); }));
}

TEST(YamuxHostile, StreamFloodBeyondTheLimitIsRefusedOneByOne) {
  SessionLimits limits;
  limits.max_streams = 4;
  RawPeer p(limits);
  for (std::uint32_t id = 1; id <= 21; id += 2) p.send({FrameType::window_update, kSyn, id, 0});
  // 4 ACKed, the other 7 RST; the connection stays up.
  int acks = 0, rsts = 0;
  while (acks + rsts < 11) {
    auto h = p.expect(FrameType::window_update);
    ASSERT_TRUE(h.has_value());
    if (h->flags & kAck) ++acks;
    if (h->flags & kRst) ++rsts;
  }
  EXPECT_EQ(acks, 4);
  EXPECT_EQ(rsts, 7);
  EXPECT_FALSE(p.closed.has_value());
  EXPECT_EQ(p.server->stream_count(), 4u);
}

TEST(YamuxHostile, ConnectionBufferLimitResetsTheStreamNotTheConnection) {
  SessionLimits limits;
  limits.max_buffered_bytes = 300 * 1024;
  RawPeer p(limits);
  Bytes chunk(200 * 1024, 'b');
  p.send({FrameType::window_update, kSyn, 1, 0});
  p.send({FrameType::window_update, kSyn, 3, 0});
  p.send({FrameType::data, 0, 1, static_cast<std::uint32_t>(chunk.size())}, chunk);
  p.send({FrameType::data, 0, 3, static_cast<std::uint32_t>(chunk.size())}, chunk);  // over 300 KiB
  bool saw_rst = false;
  while (!saw_rst) {
    auto h = p.expect(FrameType::window_update);
    ASSERT_TRUE(h.has_value());
    saw_rst = (h->flags & kRst) && h->stream_id == 3;
  }
  EXPECT_EQ(p.server->buffered_bytes(), chunk.size());
  EXPECT_FALSE(p.closed.has_value());
}

TEST(YamuxHostile, PeerThatStopsReadingIsCutOff) {
  SessionLimits limits;
  limits.max_queued_output = 64 * 1024;
  limits.write_timeout = std::chrono::milliseconds(200);
  RawPeer p(limits);
  // Ping floods whose pongs we never read: the session must give up, not grow.
  Bytes flood;
  for (int i = 0; i < 200000; ++i) {
    auto h = encode_header({FrameType::ping, kSyn, 0, static_cast<std::uint32_t>(i)});
    flood.insert(flood.end(), h.begin(), h.end());
  }
  asio::co_spawn(p.io, [&]() -> asio::awaitable<void> { (void)co_await p.raw->write_all(flood); }, asio::detached);
  EXPECT_TRUE(pump_until(p.io, [&] { return p.closed.has_value(); }, std::chrono::milliseconds(20000)));
}

}  // namespace
}  // namespace codex::net::yamux
