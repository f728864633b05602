// Private to libcore: the protobuf wire format, as much of it as manifests need.
//
// Reading is strict and bounded. A field's tag and varints must be minimally
// encoded (Codex's encoder never writes otherwise, and one message must have
// one encoding); groups (wire types 3, 4) and undefined wire types are errors;
// a length running past the end of its message is an error; every error names
// the message, the field number and name, and the absolute byte offset. Unknown
// field numbers are skipped, as protobuf requires; the caller decides which
// numbers it knows and which may repeat.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "codex/bytes.hpp"
#include "codex/cid.hpp"
#include "codex/error.hpp"

namespace codex::protobuf {

enum class WireType : std::uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::varint;
  std::uint64_t value = 0;       // varint, fixed64 and fixed32 fields
  ByteView payload;              // length-delimited fields
  std::size_t offset = 0;        // absolute offset of the tag
  std::size_t payload_offset = 0;  // absolute offset of the payload
};

// How errors name a message and its fields: names[n] is field n's name, ""
// for a number the message does not define.
struct Schema {
  std::string_view message;  // e.g. "manifest header"
  std::span<const std::string_view> names;

  bool known(std::uint32_t number) const { return number < names.size() && !names[number].empty(); }
  std::string describe(std::uint32_t number) const;  // "manifest header field 3 (blockSize)"
};

// Reads the fields of one message in order. `base` is the absolute offset of
// `message` within the outermost input, so errors point into what the user has.
class Reader {
 public:
  Reader(ByteView message, std::size_t base, const Schema& schema)
      : data_(message), base_(base), schema_(schema) {}

  bool done() const { return pos_ >= data_.size(); }
  Result<Field> next();

  // Typed views of a field; a wrong wire type or value is an error naming it.
  Result<std::uint64_t> varint(const Field& field) const;
  Result<std::uint32_t> uint32(const Field& field) const;
  Result<ByteView> bytes(const Field& field) const;
  Result<Cid> cid(const Field& field) const;
  // An empty string is absent (Codex writes optional strings only when set).
  Result<std::optional<std::string>> string(const Field& field) const;

  // Non-repeated fields (numbers below 64) may appear once.
  Status once(const Field& field, std::uint64_t& seen) const;
  Error missing(std::uint32_t number) const;
  Error invalid(const Field& field, std::string_view why) const;
  const Schema& schema() const { return schema_; }

 private:
  ByteView data_;
  std::size_t base_ = 0;
  std::size_t pos_ = 0;
  const Schema& schema_;
};

// Writes fields in the order called, tags and varints minimally encoded.
class Writer {
 public:
  void varint(std::uint32_t field, std::uint64_t value);
  void bytes(std::uint32_t field, ByteView value);
  void string(std::uint32_t field, std::string_view value) { bytes(field, as_bytes(value)); }
  const Bytes& data() const { return data_; }
  Bytes take() { return std::move(data_); }

 private:
  void tag(std::uint32_t field, WireType type);
  Bytes data_;
};

}  // namespace codex::protobuf
