// A minimal protobuf wire-format reader and writer for the few small messages
// libp2p defines (PublicKey, Identify). Readers are strict about framing
// (every length checked against what is left) and lenient about unknown
// fields, as proto2 asks; callers bound the input size before decoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/varint.hpp"

namespace codex::net::pb {

enum WireType : std::uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

inline void put_key(Bytes& out, std::uint32_t field, WireType wire) {
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | wire);
}
inline void put_varint_field(Bytes& out, std::uint32_t field, std::uint64_t value) {
  put_key(out, field, kVarint);
  put_varint(out, value);
}
inline void put_bytes_field(Bytes& out, std::uint32_t field, ByteView value) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, value.size());
  out.insert(out.end(), value.begin(), value.end());
}
inline void put_string_field(Bytes& out, std::uint32_t field, std::string_view value) {
  put_bytes_field(out, field, as_bytes(value));
}

struct Field {
  std::uint32_t number = 0;
  WireType wire = kVarint;
  std::uint64_t value = 0;  // varint and fixed fields
  ByteView bytes;           // length-delimited fields
};

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  // The next field, or an error naming what was malformed.
  Result<Field> next() {
    Field f;
    CODEX_TRY_ASSIGN(std::uint64_t key, read_varint(data_, pos_));
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff)
      return make_error(Errc::corrupt, "protobuf field number {} out of range", key >> 3);
    f.number = static_cast<std::uint32_t>(key >> 3);
    switch (key & 7) {
      case kVarint: {
        f.wire = kVarint;
        CODEX_TRY_ASSIGN(f.value, read_varint(data_, pos_));
        return f;
      }
      case kFixed64:
      case kFixed32: {
        const std::size_t n = (key & 7) == kFixed64 ? 8 : 4;
        if (data_.size() - pos_ < n) return make_error(Errc::corrupt, "protobuf field {} truncated", f.number);
        f.wire = static_cast<WireType>(key & 7);
        for (std::size_t i = 0; i < n; ++i) f.value |= static_cast<std::uint64_t>(data_[pos_ + i]) << (8 * i);
        pos_ += n;
        return f;
      }
      case kLengthDelimited: {
        f.wire = kLengthDelimited;
        CODEX_TRY_ASSIGN(std::uint64_t len, read_varint(data_, pos_));
        if (len > data_.size() - pos_)
          return make_error(Errc::corrupt, "protobuf field {} claims {} bytes, {} left", f.number, len,
                            data_.size() - pos_);
        f.bytes = data_.subspan(pos_, len);
        pos_ += len;
        return f;
      }
      default:
        return make_error(Errc::corrupt, "protobuf field {} has unsupported wire type {}", f.number, key & 7);
    }
  }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

}  // namespace codex::net::pb
