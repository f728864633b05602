// Multiaddr text and binary forms, and what is refused.
#include "codex/net/multiaddr.hpp"

#include <gtest/gtest.h>

namespace codex::net {
namespace {

constexpr const char* kPeer = "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv";

TEST(Multiaddr, ParsesAndFormatsEachShape) {
  for (std::string text : std::vector<std::string>{"/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/0", "/dns/example.org/tcp/443",
                           "/dns4/a-b.c/tcp/1", "/dns6/x/tcp/65535", std::string("/ip4/10.0.0.1/tcp/4001/p2p/") + kPeer}) {
    auto m = Multiaddr::parse(text);
    ASSERT_TRUE(m.ok()) << text << ": " << m.error().message;
    EXPECT_EQ(m->to_string(), text);
    auto back = Multiaddr::from_bytes(m->to_bytes());
    ASSERT_TRUE(back.ok()) << text << ": " << back.error().message;
    EXPECT_EQ(*back, *m);
  }
}

TEST(Multiaddr, BinaryFormIsTheMulticodecOne) {
  auto m = Multiaddr::parse("/ip4/127.0.0.1/tcp/4001");
  EXPECT_EQ(to_hex(m->to_bytes()), "047f000001060fa1");
  auto p = Multiaddr::parse(std::string("/ip4/127.0.0.1/tcp/4001/p2p/") + kPeer);
  EXPECT_EQ(to_hex(p->to_bytes()).substr(0, 22), "047f000001060fa1a50326");
  EXPECT_EQ(p->peer()->to_string(), kPeer);
  EXPECT_EQ(Multiaddr::parse(std::string("/ip4/127.0.0.1/tcp/4001/ipfs/") + kPeer)->to_string(),
            std::string("/ip4/127.0.0.1/tcp/4001/p2p/") + kPeer);
}

TEST(Multiaddr, RefusesWhatItDoesNotSpeak) {
  for (const char* text : {"", "ip4/1.2.3.4/tcp/1", "/ip4/1.2.3.4", "/ip4/1.2.3.4/udp/1", "/ip4/1.2.3.400/tcp/1",
                           "/ip4/1.2.3.4/tcp/65536", "/ip4/1.2.3.4/tcp/-1", "/ip4/1.2.3.4/tcp/01",
                           "/ip6/1.2.3.4/tcp/1", "/dns/bad_name/tcp/1", "/quic/x/tcp/1",
                           "/ip4/1.2.3.4/tcp/1/p2p/notapeerid", "/ip4/1.2.3.4/tcp/1/p2p", "/ip4/1.2.3.4/tcp/1/"}) {
    EXPECT_FALSE(Multiaddr::parse(text).ok()) << text;
  }
  EXPECT_FALSE(Multiaddr::from_bytes(*from_hex("047f0000")).ok());
  EXPECT_FALSE(Multiaddr::from_bytes(*from_hex("047f000001")).ok());
  EXPECT_FALSE(Multiaddr::from_bytes(*from_hex("047f000001110fa1")).ok());  // udp
  EXPECT_FALSE(Multiaddr::from_bytes(*from_hex("047f000001060fa1a503")).ok());
}

}  // namespace
}  // namespace codex::net
