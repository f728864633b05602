// Identify protobuf: round trip, bounds, unknown fields skipped.
#include "codex/net/identify.hpp"

#include <gtest/gtest.h>

namespace codex::net::identify {
namespace {

TEST(Identify, RoundTrips) {
  Info info;
  info.protocol_version = "ipfs/0.1.0";
  info.agent_version = "codex-tools/0.1.0";
  info.public_key = *from_hex("080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
  info.listen_addrs = {*from_hex("047f000001060fa1")};
  info.observed_addr = *from_hex("047f000001060fa2");
  info.protocols = {"/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"};
  auto back = decode(encode(info));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, info);
}

TEST(Identify, SkipsUnknownFieldsAndRefusesMalformedOnes) {
  Bytes m = encode(Info{"v", "a", {}, {}, {}, {"/p"}});
  Bytes with_record = m;
  for (std::uint8_t b : {0x42, 0x02, 0x01, 0x02}) with_record.push_back(b);  // field 8, 2 bytes
  auto ok = decode(with_record);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->protocols, std::vector<std::string>{"/p"});
  EXPECT_FALSE(decode(*from_hex("0a05aa")).ok());       // field 1 truncated
  EXPECT_FALSE(decode(*from_hex("0801")).ok());         // field 1 as varint
  EXPECT_FALSE(decode(*from_hex("0b")).ok());           // wire type 3
  // Other implementations' encoders may pad a varint; protobuf parsers accept it.
  auto padded = decode(*from_hex("1a810070"));  // field 3, length 1 written in two bytes
  ASSERT_TRUE(padded.ok()) << padded.error().message;
  EXPECT_EQ(padded->protocols, std::vector<std::string>{"p"});
  EXPECT_FALSE(decode(Bytes(kMaxMessage + 1, 0)).ok());
  Bytes many;
  for (std::size_t i = 0; i <= kMaxEntries; ++i) {
    many.push_back(0x1a);
    many.push_back(1);
    many.push_back('p');
  }
  EXPECT_FALSE(decode(many).ok());
}

}  // namespace
}  // namespace codex::net::identify
