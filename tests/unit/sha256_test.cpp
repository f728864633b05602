#include "codex/sha256.hpp"

#include <gtest/gtest.h>

namespace codex {

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(to_hex(sha256(as_bytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalMatchesOneShot) {
  Sha256 h;
  h.update(as_bytes("a"));
  h.update(as_bytes("bc"));
  EXPECT_EQ(h.finish(), sha256(as_bytes("abc")));
  h.update(as_bytes(""));
  EXPECT_EQ(h.finish(), sha256(as_bytes("")));  // finish resets
}

TEST(Hex, RoundTripAndRejects) {
  auto bytes = from_hex("00ff10Ab");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(to_hex(*bytes), "00ff10ab");
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

}  // namespace codex
