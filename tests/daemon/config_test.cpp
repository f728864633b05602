// The daemon's configuration file: every key, errors naming the line, and
// that the shipped example parses.
#include "codex/daemon/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace codex::daemon {
namespace {

TEST(Config, ParsesEveryKey) {
  auto c = parse_config(
      "# comment\nlisten = /ip4/0.0.0.0/tcp/1\nlisten=/ip6/::/tcp/1 # trailing\n\n"
      "bootstrap = /ip4/1.2.3.4/tcp/5/p2p/x\nlog-level = debug\nmax-connections = 9\n"
      "fetch-parallel = 7\nrequest-timeout = 30\nidle-timeout = 20\n",
      "t");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen.size(), 2u);
  EXPECT_EQ(c->listen[1], "/ip6/::/tcp/1");
  EXPECT_EQ(c->bootstrap.size(), 1u);
  EXPECT_EQ(c->log_level, LogLevel::debug);
  EXPECT_EQ(c->max_connections, 9u);
  EXPECT_EQ(c->fetch_parallel, 7u);
  EXPECT_EQ(c->request_timeout.count(), 30);
  EXPECT_EQ(c->idle_timeout.count(), 20);
}

TEST(Config, CommunityKeys) {
  auto c = parse_config(
      "probe-interval-ms = 500\nprobe-timeout-ms = 250\nsuspicion-multiplier = 3\nheartbeat-interval-ms = 1000\n"
      "suspect-after-missed = 2\nlost-after-missed = 4\nloss-confirmations = 2\nrepair-backoff-ms = 1000\n"
      "repair-timeout-ms = 60000\njoin-wait-ms = 1500\nauto-repair = no\nrepair-bandwidth = 1000000\n"
      "lazy-repair-l0 = 2\nproof-samples = 8\n",
      "t");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->protocol.probe_interval, 500);
  EXPECT_EQ(c->protocol.probe_timeout, 250);
  EXPECT_EQ(c->protocol.suspicion_multiplier, 3u);
  EXPECT_EQ(c->protocol.heartbeat_interval, 1000);
  EXPECT_EQ(c->protocol.lost_after_missed, 4u);
  EXPECT_EQ(c->protocol.repair_timeout, 60000);
  EXPECT_EQ(c->join_wait.count(), 1500);
  EXPECT_FALSE(c->auto_repair);
  EXPECT_EQ(c->repair_bandwidth, 1000000u);
  EXPECT_EQ(c->lazy_repair_l0, 2);
  EXPECT_EQ(c->proof_samples, 8u);
  // Defaults stay the protocol's own.
  auto d = parse_config("", "t");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->protocol.probe_interval, protocol::Config{}.probe_interval);
  EXPECT_TRUE(d->auto_repair);
  // Bad values name the key; a loss before suspicion is refused.
  auto bad = parse_config("heartbeat-interval-ms = soon\n", "f");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("heartbeat-interval-ms"), std::string::npos);
  EXPECT_FALSE(parse_config("auto-repair = maybe\n", "f").ok());
  EXPECT_FALSE(parse_config("probe-interval-ms = 0\n", "f").ok());
  EXPECT_FALSE(parse_config("suspect-after-missed = 3\n", "f").ok());
  EXPECT_TRUE(parse_config("suspect-after-missed = 3\nlost-after-missed = 5\n", "f").ok());
}

TEST(Config, ErrorsNameTheLine) {
  auto bad = parse_config("listen = /ip4/1.2.3.4/tcp/1\nnonsense\n", "f.conf");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("f.conf line 2"), std::string::npos);
  EXPECT_FALSE(parse_config("colour = blue\n", "f").ok());
  EXPECT_FALSE(parse_config("fetch-parallel = 1000\n", "f").ok());
  EXPECT_FALSE(parse_config("fetch-parallel = 12x\n", "f").ok());
  EXPECT_FALSE(parse_config("log-level = loud\n", "f").ok());
  EXPECT_FALSE(parse_config("listen =\n", "f").ok());
}

TEST(Config, ShippedExampleParses) {
  std::ifstream in(std::string(CODEX_SOURCE_DIR) + "/contrib/gossip.conf.example");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto c = parse_config(text.str(), "gossip.conf.example");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->listen.empty());
}

}  // namespace
}  // namespace codex::daemon
