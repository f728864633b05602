// multistream-select 1.0: the message codec (wire bytes from the spec) and
// both ends of a negotiation over a real socket pair.
#include "codex/net/multistream.hpp"

#include <gtest/gtest.h>

#include "net_test_support.hpp"

namespace codex::net {
namespace {

using test::run;

TEST(Multistream, EncodesMessagesAsTheSpecShows) {
  EXPECT_EQ(to_hex(multistream::encode("na")), "036e610a");
  Bytes m = multistream::encode(multistream::kProtocolId);
  EXPECT_EQ(m[0], 0x13);
  EXPECT_EQ(m.back(), '\n');
  std::size_t pos = 0;
  auto text = multistream::decode(m, pos);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "/multistream/1.0.0");
  EXPECT_EQ(pos, m.size());
}

TEST(Multistream, RefusesMalformedMessages) {
  auto bad = [](std::string hex) {
    Bytes b = *from_hex(hex);
    std::size_t pos = 0;
    return !multistream::decode(b, pos).ok();
  };
  EXPECT_TRUE(bad("00"));            // empty
  EXPECT_TRUE(bad("036e6100"));      // no newline
  EXPECT_TRUE(bad("036e61"));        // truncated
  EXPECT_TRUE(bad("0101"));          // one byte, and it is not a newline
  EXPECT_TRUE(bad("03010a0a"));      // control character
  EXPECT_TRUE(bad("03ff0a0a"));      // not UTF-8
  EXPECT_TRUE(bad("8108"));          // length 1025 > 1024, truncated anyway
  Bytes big = multistream::encode(std::string(1100, 'a'));
  std::size_t pos = 0;
  EXPECT_FALSE(multistream::decode(big, pos).ok());
}

TEST(Multistream, ListIsOneMessageOfMessages) {
  Bytes list = multistream::encode_list({"/a", "/bc"});
  std::size_t pos = 0;
  EXPECT_FALSE(multistream::decode(list, pos).ok());  // not text
  auto outer = multistream::decode(list, pos, false);
  ASSERT_TRUE(outer.ok());
  Bytes inner(outer->begin(), outer->end());
  std::size_t p = 0;
  EXPECT_EQ(*multistream::decode(inner, p), "/a");
  EXPECT_EQ(*multistream::decode(inner, p), "/bc");
  EXPECT_EQ(p, inner.size());
}

struct Pair {
  asio::io_context io;
  std::unique_ptr<test::LocalTransport> a, b;
  multistream::Channel ca, cb;
  Pair() {
    std::tie(a, b) = test::transport_pair(io);
    ca = {[this](MutableByteView v) { return a->read_exact(v); }, [this](ByteView v) { return a->write_all(v); }};
    cb = {[this](MutableByteView v) { return b->read_exact(v); }, [this](ByteView v) { return b->write_all(v); }};
  }
};

TEST(Multistream, InitiatorAndResponderAgree) {
  Pair p;
  auto result = run(p.io, [&]() -> asio::awaitable<std::pair<Status, Result<std::string>>> {
    std::optional<Result<std::string>> responded;
    asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
      responded = co_await multistream::respond(
          p.cb, [](std::string_view s) { return s == "/echo/1"; }, [] { return std::vector<std::string>{"/echo/1"}; });
    }, asio::detached);
    auto st = co_await multistream::select(p.ca, "/echo/1");
    asio::steady_timer t(p.io, std::chrono::milliseconds(50));
    while (!responded) {
      t.expires_after(std::chrono::milliseconds(5));
      co_await t.async_wait(asio::use_awaitable);
    }
    co_return std::pair{st, *responded};
  }());
  EXPECT_TRUE(result.first.ok()) << result.first.error().message;
  ASSERT_TRUE(result.second.ok());
  EXPECT_EQ(*result.second, "/echo/1");
}

TEST(Multistream, UnsupportedProtocolGetsNaThenAnotherProposalWorks) {
  Pair p;
  std::optional<Result<std::string>> responded;
  asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
    responded = co_await multistream::respond(
        p.cb, [](std::string_view s) { return s == "/yes"; }, [] { return std::vector<std::string>{"/yes"}; });
  }, asio::detached);
  auto first = run(p.io, multistream::select(p.ca, "/no"));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, Errc::rejected);
  // Same channel, next proposal (without a second header): raw bytes.
  auto second = run(p.io, [&]() -> asio::awaitable<Result<std::string>> {
    auto st = co_await p.ca.write(multistream::encode("ls"));
    if (!st) co_return st.error();
    auto list = co_await multistream::read_message(p.ca, false);
    if (!list) co_return list;
    st = co_await p.ca.write(multistream::encode("/yes"));
    if (!st) co_return st.error();
    auto echo = co_await multistream::read_message(p.ca);
    if (!echo) co_return echo;
    co_return *list + "|" + *echo;
  }());
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(*second, std::string("\x05/yes\n|/yes"));
  ASSERT_TRUE(test::pump_until(p.io, [&] { return responded.has_value(); }));
  ASSERT_TRUE(responded->ok());
}

TEST(Multistream, ResponderRefusesGarbageHeader) {
  Pair p;
  std::optional<Result<std::string>> responded;
  asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
    responded = co_await multistream::respond(
        p.cb, [](std::string_view) { return true; }, [] { return std::vector<std::string>{}; });
  }, asio::detached);
  run(p.io, [&]() -> asio::awaitable<bool> {
    std::string junk = "GET / HTTP/1.1\r\nHost: example.org\r\n";
    while (junk.size() < 300) junk += "X-Padding: yes\r\n";
    co_return (co_await p.ca.write(as_bytes(junk))).ok();
  }());
  ASSERT_TRUE(test::pump_until(p.io, [&] { return responded.has_value(); }));
  EXPECT_FALSE(responded->ok());
}

TEST(Multistream, ResponderGivesUpAfterTooManyProposals) {
  Pair p;
  std::optional<Result<std::string>> responded;
  asio::co_spawn(p.io, [&]() -> asio::awaitable<void> {
    responded = co_await multistream::respond(
        p.cb, [](std::string_view) { return false; }, [] { return std::vector<std::string>{}; });
  }, asio::detached);
  run(p.io, [&]() -> asio::awaitable<bool> {
    Bytes all = multistream::encode(multistream::kProtocolId);
    for (int i = 0; i < 40; ++i) {
      Bytes m = multistream::encode("/nope/" + std::to_string(i));
      all.insert(all.end(), m.begin(), m.end());
    }
    co_return (co_await p.ca.write(all)).ok();
  }());
  ASSERT_TRUE(test::pump_until(p.io, [&] { return responded.has_value(); }));
  ASSERT_FALSE(responded->ok());
  EXPECT_EQ(responded->error().code, Errc::rejected);
}

}  // namespace
}  // namespace codex::net
