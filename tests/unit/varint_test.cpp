// Unsigned varints: encodings, sizes, and every way reading can refuse input.
#include "codex/varint.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace codex {
namespace {

Bytes encode(std::uint64_t value) {
  Bytes out;
  put_varint(out, value);
  return out;
}

TEST(Varint, KnownEncodings) {
  EXPECT_EQ(to_hex(encode(0)), "00");
  EXPECT_EQ(to_hex(encode(1)), "01");
  EXPECT_EQ(to_hex(encode(127)), "7f");
  EXPECT_EQ(to_hex(encode(128)), "8001");
  EXPECT_EQ(to_hex(encode(300)), "ac02");
  EXPECT_EQ(to_hex(encode(0xCD02)), "829a03");
  EXPECT_EQ(to_hex(encode(65536)), "808004");
}

TEST(Varint, RoundTripAndSize) {
  const std::uint64_t values[] = {0, 1, 127, 128, 255, 16383, 16384, 0xCD01, 1ull << 32,
                                  (1ull << 56) - 1, 1ull << 56, (1ull << 63) - 1};
  for (std::uint64_t value : values) {
    Bytes bytes = encode(value);
    EXPECT_EQ(bytes.size(), varint_size(value)) << value;
    bytes.push_back(0xee);  // reading stops at the varint's end
    std::size_t pos = 0;
    auto read = read_varint(bytes, pos);
    ASSERT_TRUE(read) << value << ": " << read.error().message;
    EXPECT_EQ(*read, value);
    EXPECT_EQ(pos, bytes.size() - 1);
  }
}

TEST(Varint, ReadsAtAnOffset) {
  const Bytes bytes = {0xff, 0xac, 0x02, 0x05};
  std::size_t pos = 1;
  auto first = read_varint(bytes, pos);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 300u);
  auto second = read_varint(bytes, pos);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, 5u);
  EXPECT_EQ(pos, 4u);
}

void expect_refused(const Bytes& bytes, std::string_view reason) {
  std::size_t pos = 0;
  auto read = read_varint(bytes, pos);
  ASSERT_FALSE(read) << to_hex(bytes);
  EXPECT_EQ(read.error().code, Errc::corrupt);
  EXPECT_NE(read.error().message.find(reason), std::string::npos) << read.error().message;
  EXPECT_EQ(pos, 0u) << "a failed read must not move the position";
}

TEST(Varint, RefusesTruncated) {
  expect_refused({}, "truncated");
  expect_refused({0x80}, "truncated");
  expect_refused({0xff, 0xff}, "truncated");
}

TEST(Varint, RefusesNonMinimal) {
  expect_refused({0x80, 0x00}, "not minimally encoded");
  expect_refused({0x81, 0x00}, "not minimally encoded");
  expect_refused({0xff, 0x80, 0x00}, "not minimally encoded");
}

TEST(Varint, RefusesMoreThanNineBytes) {
  expect_refused(encode(1ull << 63), "longer than 9 bytes");
  expect_refused(encode(std::numeric_limits<std::uint64_t>::max()), "longer than 9 bytes");
  expect_refused(Bytes(12, 0x80), "longer than 9 bytes");
  // Nine bytes is the longest accepted.
  Bytes nine(8, 0xff);
  nine.push_back(0x7f);
  std::size_t pos = 0;
  auto read = read_varint(nine, pos);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, (1ull << 63) - 1);
}

}  // namespace
}  // namespace codex
