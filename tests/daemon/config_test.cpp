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
