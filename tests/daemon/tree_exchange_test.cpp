// The tree protocol over a real yamux session (tree_exchange.hpp): an honest
// member's answer is read and checked against the root; a member that sends
// more than the manifest's count, leaves that do not hash to the root, or
// nothing, is told apart; a manifest that claims more blocks than the bound
// is refused before anything is asked or read.
#include "codex/daemon/tree_exchange.hpp"

#include <gtest/gtest.h>

#include <random>

#include "../net/net_test_support.hpp"
#include "codex/codex_tree.hpp"
#include "codex/net/host.hpp"
#include "test_support.hpp"

namespace codex::daemon {
namespace {

using net::Stream;
using net::yamux::Session;
using net::test::run;

struct Link {
  asio::io_context io;
  std::shared_ptr<Session> client, server;
  std::vector<std::shared_ptr<Stream>> accepted;
  bool closing = false;
  // Every coroutine of the test ends before the io_context goes.
  ~Link() {
    closing = true;
    client->close(net::yamux::GoAwayCode::normal, "test over");
    server->close(net::yamux::GoAwayCode::normal, "test over");
    net::test::pump(io, std::chrono::milliseconds(50));
  }
  Link() {
    auto [a, b] = net::test::transport_pair(io);
    client = std::make_shared<Session>(io.get_executor(), std::move(a), Session::Role::client, net::yamux::SessionLimits{});
    server = std::make_shared<Session>(io.get_executor(), std::move(b), Session::Role::server, net::yamux::SessionLimits{});
    client->start([](std::shared_ptr<Stream>) {}, [](const Error&) {});
    server->start([this](std::shared_ptr<Stream> s) { accepted.push_back(std::move(s)); }, [](const Error&) {});
  }
  // (A coroutine's parameters live in its frame; a lambda's captures would not.)
  template <class Answer>
  static asio::awaitable<void> answer_when_accepted(Link* link, std::size_t index, Answer answer) {
    asio::steady_timer t(link->io);
    while (link->accepted.size() <= index) {
      if (link->closing) co_return;
      t.expires_after(std::chrono::milliseconds(1));
      co_await t.async_wait(asio::use_awaitable);
    }
    co_await answer(*link->accepted[index]);
  }
  // Runs the asking side against `answer`, a coroutine given the member's
  // end of the stream once it exists.
  template <class Answer>
  Result<std::vector<Digest>> ask(const Cid& tree, std::uint64_t count, Answer answer) {
    auto stream = client->open_stream();
    EXPECT_TRUE(stream.ok());
    asio::co_spawn(io, answer_when_accepted(this, accepted.size(), std::move(answer)), asio::detached);
    return run(io, request_tree(**stream, tree, count));
  }
};

std::vector<Digest> some_leaves(std::size_t n, std::uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::vector<Digest> leaves(n);
  for (auto& leaf : leaves)
    for (auto& b : leaf) b = static_cast<std::uint8_t>(rng());
  return leaves;
}

Cid tree_of(const std::vector<Digest>& leaves) { return Cid::from_digest(codec::root, *codex_tree_root(leaves)); }

TEST(TreeExchange, AMemberServesTheLeavesItHoldsAndTheyAreChecked) {
  testing::TempDir dir;
  auto repo = *Repository::open(dir.path(), Repository::OpenMode::create);
  const auto leaves = some_leaves(1000);
  const Cid tree = tree_of(leaves);
  auto batch = *repo->begin_batch();
  batch->add_tree(tree, leaves);
  ASSERT_TRUE(batch->commit().ok());
  Link link;
  auto got = link.ask(tree, leaves.size(), [&](Stream& s) { return serve_tree(s, *repo); });
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, leaves);

  // A tree it does not hold: an empty answer, not found.
  const Cid other = tree_of(some_leaves(3));
  auto missing = link.ask(other, 3, [&](Stream& s) { return serve_tree(s, *repo); });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

// A hostile member: reads the request, then sends `length` as the answer's
// length prefix followed by `body`.
auto hostile(std::size_t length, Bytes body) {
  return [length, body](Stream& s) -> asio::awaitable<void> {
    co_await net::read_length_prefixed(s, 128);
    co_await net::write_length_prefix(s, length);
    if (!body.empty()) co_await s.write(body);
    co_await s.close_write();
  };
}

TEST(TreeExchange, AnAnswerLongerThanTheManifestSaysIsRefusedUnread) {
  const auto leaves = some_leaves(16);
  Link link;
  // It claims a gigabyte: refused on the prefix, nothing of that is read or held.
  auto got = link.ask(tree_of(leaves), 16, hostile(std::size_t{1} << 30, {}));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::rejected);
  EXPECT_NE(got.error().message.find("over 512 bytes for 16 leaves"), std::string::npos) << got.error().message;
}

TEST(TreeExchange, AShortAnswerOrLeavesOfAnotherTreeAreRejected) {
  const auto leaves = some_leaves(16);
  Link link;
  auto shorter = link.ask(tree_of(leaves), 16, hostile(15 * 32, Bytes(15 * 32, 1)));
  ASSERT_FALSE(shorter.ok());
  EXPECT_EQ(shorter.error().code, Errc::rejected);
  const auto other = some_leaves(16, 8);
  Bytes wrong(reinterpret_cast<const std::uint8_t*>(other.data()), reinterpret_cast<const std::uint8_t*>(other.data()) + 16 * 32);
  auto got = link.ask(tree_of(leaves), 16, hostile(16 * 32, wrong));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::rejected);
  EXPECT_NE(got.error().message.find("do not hash to tree"), std::string::npos) << got.error().message;
}

TEST(TreeExchange, AManifestClaimingMoreBlocksThanTheBoundIsNotFetched) {
  const Cid manifest = Cid::from_digest(codec::manifest, sha256(as_bytes("m")));
  EXPECT_TRUE(check_tree_size(manifest, kMaxNetworkTreeLeaves).ok());
  auto over = check_tree_size(manifest, kMaxNetworkTreeLeaves + 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::corrupt);
  EXPECT_NE(over.error().message.find("at most 1048576"), std::string::npos) << over.error().message;
  EXPECT_FALSE(check_tree_size(manifest, 0).ok());
  // request_tree refuses too, before it writes anything on the stream.
  Link link;
  bool asked = false;
  auto got = link.ask(tree_of(some_leaves(2)), kMaxNetworkTreeLeaves + 1, [&](Stream& s) -> asio::awaitable<void> {
    auto request = co_await net::read_length_prefixed(s, 128);
    asked = request.ok();
  });
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::corrupt);
  net::test::pump(link.io, std::chrono::milliseconds(50));
  EXPECT_FALSE(asked);
}

}  // namespace
}  // namespace codex::daemon
