// The one protobuf reader (codex/protobuf.hpp) in its two encodings:
// canonical refuses what has a shorter form, lenient accepts padded varints
// as protobuf parsers do; both refuse what is malformed or runs past the end.
#include "codex/protobuf.hpp"

#include <gtest/gtest.h>

namespace codex::protobuf {
namespace {

const Schema kTest{"test message", {}};

Result<Field> first(const Bytes& message, Encoding encoding) {
  Reader r(message, 0, kTest, encoding);
  return r.next();
}

TEST(Protobuf, CanonicalRefusesWhatLenientAccepts) {
  // Field 1 = 5, its value padded with a zero group; a padded tag; a padded length.
  for (const Bytes& padded : {Bytes{0x08, 0x85, 0x00}, Bytes{0x88, 0x00, 0x05}, Bytes{0x0a, 0x81, 0x00, 0x07}}) {
    auto strict = first(padded, Encoding::canonical);
    ASSERT_FALSE(strict.ok());
    EXPECT_EQ(strict.error().code, Errc::corrupt);
    auto lenient = first(padded, Encoding::lenient);
    ASSERT_TRUE(lenient.ok()) << lenient.error().message;
    EXPECT_EQ(lenient->number, 1u);
  }
  const Bytes padded_value{0x08, 0x85, 0x00}, padded_length{0x0a, 0x81, 0x00, 0x07};
  auto value = first(padded_value, Encoding::lenient);
  EXPECT_EQ(value->value, 5u);
  auto length = first(padded_length, Encoding::lenient);  // its payload points into padded_length
  ASSERT_EQ(length->payload.size(), 1u);
  EXPECT_EQ(length->payload[0], 0x07);
}

TEST(Protobuf, BothRefuseWhatIsMalformed) {
  const std::vector<Bytes> malformed = {
      {0x0a, 0x05, 0xaa},                                                         // length past the end
      {0x0b},                                                                     // wire type 3 (group)
      {0x0e},                                                                     // wire type 6
      {0x00, 0x01},                                                               // field number 0
      {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},  // varint over 10 bytes
      {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},        // more than 64 bits
      {0x09, 0x01, 0x02},                                                         // fixed64 truncated
      {0x08},                                                                     // value missing
  };
  for (Encoding encoding : {Encoding::canonical, Encoding::lenient})
    for (const Bytes& m : malformed) EXPECT_FALSE(first(m, encoding).ok()) << testing::PrintToString(m);
}

TEST(Protobuf, WriterAndFreeFunctionsWriteTheSame) {
  Writer w;
  w.varint(1, 300);
  w.bytes(2, Bytes{1, 2, 3});
  w.string(3, "x");
  Bytes out;
  put_varint_field(out, 1, 300);
  put_bytes_field(out, 2, Bytes{1, 2, 3});
  put_string_field(out, 3, "x");
  EXPECT_EQ(w.data(), out);
  EXPECT_EQ(out, (Bytes{0x08, 0xac, 0x02, 0x12, 0x03, 1, 2, 3, 0x1a, 0x01, 'x'}));
  Reader r(out, 0, kTest);
  for (std::uint32_t n : {1u, 2u, 3u}) {
    auto f = r.next();
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->number, n);
  }
  EXPECT_TRUE(r.done());
}

}  // namespace
}  // namespace codex::protobuf
