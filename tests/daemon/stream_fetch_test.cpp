// The block stream's fetcher against members simulated in memory: requests
// spread over members, a member that sends wrong blocks (reported, cut off,
// its requests served by others), dontHave moving a request on, a member
// that stalls (its requests move after the request timeout), and the errors
// when no member gives a block.
#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "codex/daemon/block_stream.hpp"

namespace codex::daemon {
namespace {

using namespace blockexc;

Ed25519Key key_from(std::uint8_t fill) { return *Ed25519Key::from_seed(Bytes(32, fill)); }

struct Member {
  std::map<Digest, Bytes> blocks;
  bool corrupt = false;  // flips a byte of every block it sends
  bool stall = false;    // never answers
  std::size_t served = 0;
  std::size_t dont_have = 0;  // dontHave answers it gave
};

struct Network : FetchNetwork {
  asio::io_context& io;
  std::map<PeerId, Member> members;
  std::vector<std::string> reports;
  explicit Network(asio::io_context& io) : io(io) {}

  struct Stream : FetchStream {
    Member& m;
    std::deque<Bytes> replies;
    asio::steady_timer closed;
    bool is_closed = false;
    Stream(asio::io_context& io, Member& m) : m(m), closed(io, asio::steady_timer::time_point::max()) {}
    asio::awaitable<Status> send(ByteView bytes) override {
      auto message = decode(bytes);
      if (!message) co_return message.error();
      if (m.stall) co_return Status{};
      Message reply;
      for (const auto& e : message->wantlist.entries) {
        auto it = m.blocks.find(*e.address.cid.sha256_digest());
        if (it == m.blocks.end()) {
          reply.presences.push_back({e.address, PresenceType::dont_have, {}});
          ++m.dont_have;
          continue;
        }
        Bytes data = it->second;
        if (m.corrupt) data[0] ^= 1;
        reply.payload.push_back({e.address.cid, data, e.address, std::nullopt});
        ++m.served;
      }
      replies.push_back(encode(reply));
      co_return Status{};
    }
    asio::awaitable<Result<Bytes>> receive() override {
      while (replies.empty() && !is_closed) {
        std::error_code ec;
        co_await closed.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (replies.empty()) co_return make_error(Errc::io, "stream reset");
      Bytes b = std::move(replies.front());
      replies.pop_front();
      co_return b;
    }
    void close() override {
      is_closed = true;
      closed.cancel();
    }
  };

  asio::awaitable<Result<std::unique_ptr<FetchStream>>> open(const PeerId& peer) override {
    co_return std::unique_ptr<FetchStream>(std::make_unique<Stream>(io, members.at(peer)));
  }
  Status store(const PeerId&, std::span<const BlockDelivery>) override { return {}; }
  Status flush() override { return {}; }
  bool held(const Cid&) override { return false; }
  void misbehaved(const PeerId& peer, const std::string& why) override {
    reports.push_back(peer.to_string() + ": " + why);
  }
};

std::vector<Bytes> make_blocks(std::size_t n) {
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < n; ++i) {
    Bytes b(1000, static_cast<std::uint8_t>(i));
    b[1] = static_cast<std::uint8_t>(i >> 8);
    out.push_back(std::move(b));
  }
  return out;
}

void give(Member& m, const std::vector<Bytes>& blocks, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) m.blocks[sha256(blocks[i])] = blocks[i];
}

struct Run {
  std::vector<std::optional<Result<Bytes>>> results;
  std::vector<std::string> notes;
};

Run run(asio::io_context& io, Network& net, const std::vector<Bytes>& blocks, std::vector<PeerId> members,
        std::chrono::milliseconds timeout = std::chrono::seconds(300)) {
  Log log(LogLevel::error);
  Run r;
  r.results.resize(blocks.size());
  asio::thread_pool pool(2);
  StreamFetcher fetcher(
      io, net, log, StreamFetchLimits{16, 2, timeout}, members,
      [&](std::uint64_t id, Result<Bytes> block) {
        EXPECT_FALSE(r.results[id].has_value()) << "answered twice: " << id;
        r.results[id] = std::move(block);
      },
      [&](const std::string& note) { r.notes.push_back(note); }, &pool);
  for (std::size_t i = 0; i < blocks.size(); ++i) fetcher.want(i, sha256(blocks[i]));
  // Until every request is answered (bounded: the test's own deadline).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto all_done = [&] {
    for (const auto& x : r.results)
      if (!x) return false;
    return true;
  };
  while (!all_done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
  fetcher.stop();
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  return r;
}

TEST(StreamFetcher, SpreadsOverMembersAndAnswersEveryRequest) {
  asio::io_context io;
  auto blocks = make_blocks(300);
  Network net(io);
  PeerId a = key_from(1).peer_id(), b = key_from(2).peer_id();
  give(net.members[a], blocks, 0, 300);
  give(net.members[b], blocks, 0, 300);
  auto r = run(io, net, blocks, {a, b});
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_TRUE(r.results[i] && *r.results[i]) << i;
    EXPECT_EQ(**r.results[i], blocks[i]);
  }
  EXPECT_GT(net.members[a].served, 50u);
  EXPECT_GT(net.members[b].served, 50u);
  EXPECT_TRUE(r.notes.empty());
}

TEST(StreamFetcher, ManyMembersWithoutTheBlocksAreNotWalkedThroughForEveryBlock) {
  // One holder among 60 members: a member that only says dontHave is asked
  // after the holder, so the dontHaves stay near one round of probes (60 x 4),
  // not one walk through the members per block (400 x ~59).
  asio::io_context io;
  auto blocks = make_blocks(400);
  Network net(io);
  std::vector<PeerId> members;
  for (std::uint8_t i = 1; i <= 60; ++i) members.push_back(key_from(i).peer_id());
  const PeerId holder = members[37];
  give(net.members[holder], blocks, 0, blocks.size());
  for (const auto& id : members) net.members[id];
  auto r = run(io, net, blocks, members);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_TRUE(r.results[i] && *r.results[i]) << i;
    EXPECT_EQ(**r.results[i], blocks[i]);
  }
  std::size_t dont_have = 0;
  for (const auto& [id, m] : net.members) dont_have += m.dont_have;
  EXPECT_EQ(net.members[holder].served, blocks.size());
  EXPECT_LE(dont_have, 60u * 4u) << "dontHave answers for " << blocks.size() << " blocks";
}

TEST(StreamFetcher, WrongBlocksCutTheMemberOffAndOthersServe) {
  asio::io_context io;
  auto blocks = make_blocks(200);
  Network net(io);
  PeerId bad = key_from(1).peer_id(), good = key_from(2).peer_id();
  give(net.members[bad], blocks, 0, 200);
  net.members[bad].corrupt = true;
  give(net.members[good], blocks, 0, 200);
  auto r = run(io, net, blocks, {bad, good});
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_TRUE(r.results[i] && *r.results[i]) << i;
    EXPECT_EQ(**r.results[i], blocks[i]) << i;  // never the liar's bytes
  }
  ASSERT_FALSE(net.reports.empty());
  EXPECT_NE(net.reports[0].find("wrong block"), std::string::npos);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find(bad.to_string()), std::string::npos);
}

TEST(StreamFetcher, DontHaveMovesOnAndNoHolderIsNotFound) {
  asio::io_context io;
  auto blocks = make_blocks(100);
  Network net(io);
  PeerId a = key_from(1).peer_id(), b = key_from(2).peer_id();
  give(net.members[a], blocks, 0, 40);
  give(net.members[b], blocks, 30, 80);
  auto r = run(io, net, blocks, {a, b});
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_TRUE(r.results[i]) << i;
    if (i < 80) {
      ASSERT_TRUE(*r.results[i]) << i;
      EXPECT_EQ(**r.results[i], blocks[i]);
    } else {
      ASSERT_FALSE(*r.results[i]) << i;
      EXPECT_EQ(r.results[i]->error().code, Errc::not_found);
    }
  }
  EXPECT_TRUE(net.reports.empty());
}

TEST(StreamFetcher, AStallingMemberLosesItsRequestsAfterTheTimeout) {
  asio::io_context io;
  auto blocks = make_blocks(100);
  Network net(io);
  PeerId slow = key_from(1).peer_id(), good = key_from(2).peer_id();
  give(net.members[slow], blocks, 0, 100);
  net.members[slow].stall = true;
  give(net.members[good], blocks, 0, 100);
  auto r = run(io, net, blocks, {slow, good}, std::chrono::milliseconds(200));
  for (std::size_t i = 0; i < blocks.size(); ++i) ASSERT_TRUE(r.results[i] && *r.results[i]) << i;
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("answered nothing"), std::string::npos);
  EXPECT_NE(r.notes[0].find(slow.to_string()), std::string::npos);
}

TEST(StreamFetcher, OnlyFailingMembersMeansUnavailable) {
  asio::io_context io;
  auto blocks = make_blocks(20);
  Network net(io);
  PeerId bad = key_from(1).peer_id();
  give(net.members[bad], blocks, 0, 20);
  net.members[bad].corrupt = true;
  auto r = run(io, net, blocks, {bad});
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_TRUE(r.results[i]) << i;
    ASSERT_FALSE(*r.results[i]) << i;
    EXPECT_EQ(r.results[i]->error().code, Errc::unavailable);
  }
  auto none = run(io, net, blocks, {});
  for (const auto& x : none.results) {
    ASSERT_TRUE(x && !*x);
    EXPECT_EQ(x->error().code, Errc::unavailable);
  }
}

}  // namespace
}  // namespace codex::daemon
