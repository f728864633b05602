// The few pieces of DAG-CBOR (RFC 8949 with the IPLD restrictions) that the
// CAR header needs: item heads with minimal, definite lengths. Not a general
// CBOR library; nothing here recurses, so hostile input cannot nest deeply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex::cbor {

enum class Major : std::uint8_t {
  unsigned_int = 0,
  negative_int = 1,
  byte_string = 2,
  text_string = 3,
  array = 4,
  map = 5,
  tag = 6,
  simple = 7,  // floats, true/false/null
};

// The tag DAG-CBOR puts on a CID link.
inline constexpr std::uint64_t kCidTag = 42;

struct Head {
  Major major = Major::unsigned_int;
  std::uint64_t argument = 0;  // value, length, count or tag number
};

const char* major_name(Major major);

// Appends the shortest head for (major, argument), as DAG-CBOR requires.
void put_head(Bytes& out, Major major, std::uint64_t argument);
void put_text(Bytes& out, std::string_view text);

// Reads one head at data[pos] and advances pos. Refuses what DAG-CBOR forbids:
// indefinite lengths, reserved additional info, non-minimal arguments.
// `what` names the item for errors ("CAR header").
Result<Head> read_head(ByteView data, std::size_t& pos, std::string_view what);

// Reads a head that must be of `major`; for strings also checks that the
// content fits in data and returns it, advancing pos past it.
Result<std::uint64_t> read_expected(ByteView data, std::size_t& pos, Major major, std::string_view what,
                                    std::string_view item);
Result<ByteView> read_string(ByteView data, std::size_t& pos, Major major, std::string_view what,
                             std::string_view item);

}  // namespace codex::cbor
