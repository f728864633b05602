// A small strict JSON reader for documents the tools take back in (storage
// proofs, and whatever else a tool reads that it once wrote). RFC 8259 minus
// what the toolkit never writes: numbers must be integers (no fraction, no
// exponent), object keys must be unique, and the text must be valid UTF-8
// with no byte-order mark. Size and nesting depth are bounded so hostile
// input cannot exhaust memory or the stack. Errors (Errc::corrupt) give line,
// column and what was expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codex/error.hpp"

namespace codex::json {

enum class Kind { null, boolean, integer, string, array, object };
const char* kind_name(Kind kind);  // "an integer", "a string", ...

struct Member;  // an object's member: first the key, second the value

struct Value {
  Kind kind = Kind::null;
  bool boolean = false;
  bool negative = false;        // integers: sign, magnitude below
  std::uint64_t magnitude = 0;  // integers in [-2^63, 2^64 - 1]
  std::string string;
  std::vector<Value> array;
  // In document order, keys unique. (Not std::pair: a pair of an incomplete
  // type does not compile with clang and libstdc++ 12; a vector of one does.)
  std::vector<Member> object;

  // The member named `key` of an object, or nullptr.
  const Value* find(std::string_view key) const;
};

struct Member {
  std::string first;
  Value second;
};

struct Limits {
  std::size_t max_size = 16u << 20;  // bytes of text
  std::size_t max_depth = 64;        // nested arrays and objects
  std::size_t max_values = 1u << 20; // values in all (each costs ~100 bytes in memory)
};

// Exactly one JSON value, with only whitespace around it.
Result<Value> parse(std::string_view text, const Limits& limits = {});

}  // namespace codex::json
