// The fetch scheduler against members simulated in memory: blocks spread
// over holders, a member that is gone, one that answers dontHave, and one
// that serves a wrong block (reported, cut off, nothing of it stored).
#include "codex/daemon/fetch.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>

namespace codex::daemon {
namespace {

using namespace blockexc;

Ed25519Key key_from(std::uint8_t fill) { return *Ed25519Key::from_seed(Bytes(32, fill)); }

struct FakeMember {
  std::map<Digest, Bytes> blocks;
  bool gone = false;        // every stream fails
  bool corrupt = false;     // flips a byte of every block it sends
  bool lie_have = false;    // says "have" for everything, then dontHave
  std::size_t served = 0;
};

struct FakeNetwork : FetchNetwork {
  std::map<PeerId, FakeMember> members;
  std::map<Digest, Bytes> stored, pending;
  std::vector<std::string> reports;

  struct FakeStream : FetchStream {
    FakeMember& m;
    std::deque<Bytes> replies;
    explicit FakeStream(FakeMember& m) : m(m) {}
    asio::awaitable<Status> send(ByteView bytes) override {
      auto message = decode(bytes);
      if (!message) co_return message.error();
      Message reply;
      for (const auto& e : message->wantlist.entries) {
        auto digest = *e.address.cid.sha256_digest();
        auto it = m.blocks.find(digest);
        bool have = it != m.blocks.end();
        if (e.want_type == WantType::have) {
          reply.presences.push_back({e.address, have || m.lie_have ? PresenceType::have : PresenceType::dont_have, {}});
        } else if (!have) {
          reply.presences.push_back({e.address, PresenceType::dont_have, {}});
        } else {
          Bytes data = it->second;
          if (m.corrupt) data[0] ^= 1;
          reply.payload.push_back({e.address.cid, data, e.address, std::nullopt});
          ++m.served;
        }
      }
      replies.push_back(encode(reply));
      co_return Status{};
    }
    asio::awaitable<Result<Bytes>> receive() override {
      if (replies.empty()) co_return make_error(Errc::io, "stream ended");
      Bytes b = std::move(replies.front());
      replies.pop_front();
      co_return b;
    }
    void close() override {}
  };

  asio::awaitable<Result<std::unique_ptr<FetchStream>>> open(const PeerId& peer) override {
    auto& m = members.at(peer);
    if (m.gone) co_return make_error(Errc::io, "connection refused");
    co_return std::unique_ptr<FetchStream>(std::make_unique<FakeStream>(m));
  }
  Status store(const PeerId&, std::span<const BlockDelivery> blocks) override {
    for (const auto& b : blocks) pending[*b.cid.sha256_digest()] = b.data;
    return {};
  }
  Status flush() override {
    stored.merge(pending);
    pending.clear();
    return {};
  }
  bool held(const Cid& cid) override { return stored.count(*cid.sha256_digest()) > 0; }
  void misbehaved(const PeerId& peer, const std::string& why) override {
    reports.push_back(peer.to_string() + ": " + why);
    members.at(peer).gone = true;  // as the daemon disconnects it
  }
};

struct Dataset {
  std::vector<Bytes> blocks;
  std::vector<Cid> cids;
  explicit Dataset(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      Bytes b(1000, static_cast<std::uint8_t>(i));
      b[1] = static_cast<std::uint8_t>(i >> 8);
      cids.push_back(block_cid(b));
      blocks.push_back(std::move(b));
    }
  }
  void give(FakeMember& m, std::size_t from, std::size_t to) const {
    for (std::size_t i = from; i < to; ++i) m.blocks[sha256(blocks[i])] = blocks[i];
  }
};

FetchOutcome run_fetch(FakeNetwork& net, const std::vector<Cid>& cids, std::vector<PeerId> peers) {
  asio::io_context io;
  Log log(LogLevel::error);
  Fetcher fetcher(io, net, log, FetchLimits{16, 2, std::chrono::seconds(300)});
  FetchOutcome out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { out = co_await fetcher.fetch(cids, peers); }, asio::detached);
  io.run();
  return out;
}

TEST(Fetcher, SpreadsOverHoldersAndSkipsHeld) {
  Dataset data(300);
  FakeNetwork net;
  PeerId a = key_from(1).peer_id(), b = key_from(2).peer_id();
  data.give(net.members[a], 0, 300);
  data.give(net.members[b], 0, 300);
  net.stored[sha256(data.blocks[5])] = data.blocks[5];  // already held: not asked for
  auto out = run_fetch(net, data.cids, {a, b});
  ASSERT_TRUE(out.stored.ok());
  for (bool g : out.got) EXPECT_TRUE(g);
  EXPECT_EQ(net.stored.size(), 300u);
  EXPECT_EQ(net.members[a].served + net.members[b].served, 299u);
  EXPECT_GT(net.members[a].served, 50u);  // both holders did part of it
  EXPECT_GT(net.members[b].served, 50u);
}

TEST(Fetcher, AsksTheNextHolderWhenOneIsGoneOrLies) {
  Dataset data(200);
  FakeNetwork net;
  PeerId a = key_from(1).peer_id(), b = key_from(2).peer_id(), c = key_from(3).peer_id();
  data.give(net.members[a], 0, 200);
  net.members[b].lie_have = true;  // says have, has nothing
  data.give(net.members[c], 100, 200);
  auto out = run_fetch(net, data.cids, {a, b, c});
  for (bool g : out.got) EXPECT_TRUE(g);
  EXPECT_EQ(net.members[b].served, 0u);
  EXPECT_TRUE(net.reports.empty());
}

TEST(Fetcher, MissingWhereNoMemberHasIt) {
  Dataset data(50);
  FakeNetwork net;
  PeerId a = key_from(1).peer_id(), gone = key_from(2).peer_id();
  data.give(net.members[a], 0, 40);
  data.give(net.members[gone], 0, 50);
  net.members[gone].gone = true;
  auto out = run_fetch(net, data.cids, {a, gone});
  for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ(out.got[i], i < 40) << i;
  EXPECT_EQ(net.stored.size(), 40u);
}

TEST(Fetcher, WrongBlockReportedAndNothingOfItStored) {
  Dataset data(100);
  FakeNetwork net;
  PeerId bad = key_from(1).peer_id(), good = key_from(2).peer_id();
  data.give(net.members[bad], 0, 100);
  net.members[bad].corrupt = true;
  data.give(net.members[good], 50, 100);
  auto out = run_fetch(net, data.cids, {bad, good});
  ASSERT_FALSE(net.reports.empty());
  EXPECT_NE(net.reports[0].find("wrong block"), std::string::npos);
  // Every stored block is intact; the blocks only the bad member had are missing.
  for (const auto& [digest, bytes] : net.stored) EXPECT_EQ(sha256(bytes), digest);
  for (std::size_t i = 0; i < 100; ++i) EXPECT_EQ(out.got[i], i >= 50) << i;
}

}  // namespace
}  // namespace codex::daemon
