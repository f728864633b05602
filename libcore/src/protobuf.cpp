// The protobuf wire format; see codex/protobuf.hpp for the rules.
// Protobuf varints are LEB128 like multiformats' but may take 10 bytes (a full
// 64-bit value), so they have their own reader here.
#include "codex/protobuf.hpp"

#include "codex/varint.hpp"

namespace codex::protobuf {

namespace {

constexpr std::uint32_t kMaxFieldNumber = (1u << 29) - 1;

enum class VarintProblem { none, truncated, too_long, not_minimal };

// Lenient reading accepts redundant zero groups (as protobuf parsers do);
// canonical reading refuses them, so that one value has one encoding.
VarintProblem read_wire_varint(ByteView data, std::size_t& pos, std::uint64_t& value, Encoding encoding) {
  value = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    if (pos + i >= data.size()) return VarintProblem::truncated;
    const std::uint8_t byte = data[pos + i];
    // The tenth byte holds bit 63 only.
    if (i == 9 && byte > 1) return VarintProblem::too_long;
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (byte == 0 && i > 0 && encoding == Encoding::canonical) return VarintProblem::not_minimal;
      pos += i + 1;
      return VarintProblem::none;
    }
  }
  return VarintProblem::too_long;
}

const char* wire_type_name(WireType type) {
  switch (type) {
    case WireType::varint: return "varint";
    case WireType::fixed64: return "64-bit";
    case WireType::length_delimited: return "length-delimited";
    case WireType::fixed32: return "32-bit";
  }
  return "?";
}

}  // namespace

std::string Schema::describe(std::uint32_t number) const {
  if (known(number)) return fmt::format("{} field {} ({})", message, number, names[number]);
  return fmt::format("{} field {}", message, number);
}

Result<Field> Reader::next() {
  Field field;
  field.offset = base_ + pos_;
  std::uint64_t tag = 0;
  switch (read_wire_varint(data_, pos_, tag, encoding_)) {
    case VarintProblem::none: break;
    case VarintProblem::truncated:
      return make_error(Errc::corrupt, "{} has a field tag truncated at byte {}", schema_.message,
                        base_ + data_.size());
    case VarintProblem::too_long:
    case VarintProblem::not_minimal:
      return make_error(Errc::corrupt, "{} has a malformed field tag at byte {}", schema_.message, field.offset);
  }
  const std::uint64_t number = tag >> 3;
  const auto type = static_cast<std::uint8_t>(tag & 7);
  if (number == 0 || number > kMaxFieldNumber)
    return make_error(Errc::corrupt, "{} has invalid field number {} at byte {}", schema_.message, number,
                      field.offset);
  field.number = static_cast<std::uint32_t>(number);
  if (type != 0 && type != 1 && type != 2 && type != 5)
    return make_error(Errc::corrupt, "{} has unknown wire type {} at byte {}", schema_.describe(field.number), type,
                      field.offset);
  field.type = static_cast<WireType>(type);

  auto truncated = [&] {
    return make_error(Errc::corrupt, "{} is truncated at byte {}", schema_.describe(field.number),
                      base_ + data_.size());
  };
  switch (field.type) {
    case WireType::varint:
      switch (read_wire_varint(data_, pos_, field.value, encoding_)) {
        case VarintProblem::none: break;
        case VarintProblem::truncated: return truncated();
        case VarintProblem::too_long:
          return make_error(Errc::corrupt, "{} has a varint longer than 10 bytes at byte {}",
                            schema_.describe(field.number), field.offset);
        case VarintProblem::not_minimal:
          return make_error(Errc::corrupt, "{} has a varint that is not minimally encoded at byte {}",
                            schema_.describe(field.number), field.offset);
      }
      break;
    case WireType::fixed64:
    case WireType::fixed32: {
      const std::size_t width = field.type == WireType::fixed64 ? 8 : 4;
      if (data_.size() - pos_ < width) return truncated();
      for (std::size_t i = width; i-- > 0;) field.value = field.value << 8 | data_[pos_ + i];
      pos_ += width;
      break;
    }
    case WireType::length_delimited: {
      std::uint64_t length = 0;
      switch (read_wire_varint(data_, pos_, length, encoding_)) {
        case VarintProblem::none: break;
        case VarintProblem::truncated: return truncated();
        case VarintProblem::too_long:
        case VarintProblem::not_minimal:
          return make_error(Errc::corrupt, "{} has a malformed length at byte {}", schema_.describe(field.number),
                            field.offset);
      }
      if (length > data_.size() - pos_)
        return make_error(Errc::corrupt, "{} is truncated at byte {}: its length {} runs past the end ({} bytes left)",
                          schema_.describe(field.number), base_ + data_.size(), length, data_.size() - pos_);
      field.payload = data_.subspan(pos_, static_cast<std::size_t>(length));
      field.payload_offset = base_ + pos_;
      pos_ += static_cast<std::size_t>(length);
      break;
    }
  }
  return field;
}

Result<std::uint64_t> Reader::varint(const Field& field) const {
  if (field.type != WireType::varint)
    return make_error(Errc::corrupt, "{} at byte {} has wire type {} ({}), expected 0 (varint)",
                      schema_.describe(field.number), field.offset, static_cast<int>(field.type),
                      wire_type_name(field.type));
  return field.value;
}

Result<std::uint32_t> Reader::uint32(const Field& field) const {
  CODEX_TRY_ASSIGN(std::uint64_t value, varint(field));
  if (value > 0xffffffffu)
    return make_error(Errc::corrupt, "{} at byte {} is {}, more than a 32-bit field holds",
                      schema_.describe(field.number), field.offset, value);
  return static_cast<std::uint32_t>(value);
}

Result<ByteView> Reader::bytes(const Field& field) const {
  if (field.type != WireType::length_delimited)
    return make_error(Errc::corrupt, "{} at byte {} has wire type {} ({}), expected 2 (length-delimited)",
                      schema_.describe(field.number), field.offset, static_cast<int>(field.type),
                      wire_type_name(field.type));
  return field.payload;
}

Result<Cid> Reader::cid(const Field& field) const {
  CODEX_TRY_ASSIGN(ByteView payload, bytes(field));
  auto cid = Cid::from_bytes(payload);
  if (!cid)
    return make_error(Errc::corrupt, "{} at byte {} is not a valid CID: {}", schema_.describe(field.number),
                      field.offset, cid.error().message);
  return cid;
}

Result<std::optional<std::string>> Reader::string(const Field& field) const {
  CODEX_TRY_ASSIGN(ByteView payload, bytes(field));
  if (payload.empty()) return std::optional<std::string>{};
  return std::optional<std::string>(std::string(payload.begin(), payload.end()));
}

Status Reader::once(const Field& field, std::uint64_t& seen) const {
  if (field.number >= 64) return {};
  const std::uint64_t bit = 1ull << field.number;
  if (seen & bit)
    return make_error(Errc::corrupt, "{} appears more than once (again at byte {})", schema_.describe(field.number),
                      field.offset);
  seen |= bit;
  return {};
}

Error Reader::missing(std::uint32_t number) const {
  return make_error(Errc::corrupt, "{} lacks required {}", schema_.message, schema_.describe(number).substr(
                                                                                   schema_.message.size() + 1));
}

Error Reader::invalid(const Field& field, std::string_view why) const {
  return make_error(Errc::corrupt, "{} at byte {} {}", schema_.describe(field.number), field.offset, why);
}

void put_tag(Bytes& out, std::uint32_t field, WireType type) {
  put_varint(out, static_cast<std::uint64_t>(field) << 3 | static_cast<std::uint8_t>(type));
}

void put_varint_field(Bytes& out, std::uint32_t field, std::uint64_t value) {
  put_tag(out, field, WireType::varint);
  // put_varint is plain LEB128 and writes all 64 bits, as protobuf does.
  put_varint(out, value);
}

void put_bytes_field(Bytes& out, std::uint32_t field, ByteView value) {
  put_tag(out, field, WireType::length_delimited);
  put_varint(out, value.size());
  out.insert(out.end(), value.begin(), value.end());
}

}  // namespace codex::protobuf
