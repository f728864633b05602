// The protobuf wire format: one bounded reader and one writer for every
// protobuf message the project reads or writes (Codex manifests, the block
// exchange, libp2p's PublicKey and Identify).
//
// Reading is bounded: a length running past the end of its message is an
// error; groups (wire types 3, 4) and undefined wire types are errors; every
// error names the message, the field number and name, and the absolute byte
// offset. Unknown field numbers are skipped, as protobuf requires; the caller
// decides which numbers it knows and which may repeat. How strict the varints
// are is the caller's choice (`Encoding`):
//   canonical: tags, varints and lengths minimally encoded, so that one
//     message has one encoding (manifests, which are content-addressed, and
//     what Codex's own encoder writes);
//   lenient: what any protobuf parser accepts: a varint may carry redundant
//     zero groups, up to 10 bytes (libp2p messages from other
//     implementations, whose encoders the project does not control).
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

enum class Encoding { canonical, lenient };

struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::varint;
  std::uint64_t value = 0;         // varint, fixed64 and fixed32 fields
  ByteView payload;                // length-delimited fields
  std::size_t offset = 0;          // absolute offset of the tag
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
// `message` within the outermost input, so errors point into what the user
// has. The schema must outlive the reader.
class Reader {
 public:
  Reader(ByteView message, std::size_t base, const Schema& schema, Encoding encoding = Encoding::canonical)
      : data_(message), base_(base), schema_(schema), encoding_(encoding) {}

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
  Encoding encoding_;
};

// Appends fields to `out`, tags and varints minimally encoded.
void put_tag(Bytes& out, std::uint32_t field, WireType type);
void put_varint_field(Bytes& out, std::uint32_t field, std::uint64_t value);
void put_bytes_field(Bytes& out, std::uint32_t field, ByteView value);
inline void put_string_field(Bytes& out, std::uint32_t field, std::string_view value) {
  put_bytes_field(out, field, as_bytes(value));
}

// Writes fields in the order called (the put_* functions on its own buffer).
class Writer {
 public:
  void varint(std::uint32_t field, std::uint64_t value) { put_varint_field(data_, field, value); }
  void bytes(std::uint32_t field, ByteView value) { put_bytes_field(data_, field, value); }
  void string(std::uint32_t field, std::string_view value) { put_string_field(data_, field, value); }
  const Bytes& data() const { return data_; }
  Bytes take() { return std::move(data_); }

 private:
  Bytes data_;
};

}  // namespace codex::protobuf
