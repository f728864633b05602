// DAG-CBOR item heads: the initial byte (major type in the top 3 bits,
// additional info in the low 5) and its argument. DAG-CBOR allows only one
// encoding of each value, so a reader refuses every longer spelling; that is
// what makes a header's bytes, and so its hash, unique.
#include "cbor.hpp"

namespace codex::cbor {

const char* major_name(Major major) {
  switch (major) {
    case Major::unsigned_int: return "an unsigned integer";
    case Major::negative_int: return "a negative integer";
    case Major::byte_string: return "a byte string";
    case Major::text_string: return "a text string";
    case Major::array: return "an array";
    case Major::map: return "a map";
    case Major::tag: return "a tag";
    case Major::simple: return "a float or simple value";
  }
  return "an unknown item";
}

void put_head(Bytes& out, Major major, std::uint64_t argument) {
  const auto m = static_cast<std::uint8_t>(static_cast<std::uint8_t>(major) << 5);
  if (argument < 24) {
    out.push_back(static_cast<std::uint8_t>(m | argument));
    return;
  }
  int width;
  if (argument <= 0xff) {
    out.push_back(m | 24);
    width = 1;
  } else if (argument <= 0xffff) {
    out.push_back(m | 25);
    width = 2;
  } else if (argument <= 0xffffffff) {
    out.push_back(m | 26);
    width = 4;
  } else {
    out.push_back(m | 27);
    width = 8;
  }
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(argument >> (8 * i)));
}

void put_text(Bytes& out, std::string_view text) {
  put_head(out, Major::text_string, text.size());
  out.insert(out.end(), text.begin(), text.end());
}

Result<Head> read_head(ByteView data, std::size_t& pos, std::string_view what) {
  const std::size_t start = pos;
  if (pos >= data.size()) return make_error(Errc::corrupt, "{} is truncated at byte {}", what, pos);
  const std::uint8_t initial = data[pos];
  Head head;
  head.major = static_cast<Major>(initial >> 5);
  const std::uint8_t info = initial & 0x1f;
  if (info == 31)
    return make_error(Errc::corrupt, "{} has an indefinite-length item at byte {}, which DAG-CBOR forbids", what,
                      start);
  if (info >= 28)
    return make_error(Errc::corrupt, "{} has reserved additional information {} at byte {}", what, info, start);
  ++pos;
  if (info < 24) {
    head.argument = info;
    return head;
  }
  const std::size_t width = std::size_t{1} << (info - 24);  // 1, 2, 4 or 8
  if (data.size() - pos < width) return make_error(Errc::corrupt, "{} is truncated at byte {}", what, data.size());
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) value = value << 8 | data[pos + i];
  pos += width;
  head.argument = value;
  // Floats are fixed-width, not minimal-length arguments; callers refuse them anyway.
  if (head.major == Major::simple) return head;
  const std::uint64_t smallest = width == 1 ? 24 : width == 2 ? 0x100 : width == 4 ? 0x10000 : 0x100000000;
  if (value < smallest)
    return make_error(Errc::corrupt, "{} has a non-minimal length or value {} at byte {}, which DAG-CBOR forbids", what,
                      value, start);
  return head;
}

Result<std::uint64_t> read_expected(ByteView data, std::size_t& pos, Major major, std::string_view what,
                                    std::string_view item) {
  const std::size_t start = pos;
  CODEX_TRY_ASSIGN(Head head, read_head(data, pos, what));
  if (head.major != major)
    return make_error(Errc::corrupt, "{}: {} at byte {} must be {}, not {}", what, item, start, major_name(major),
                      major_name(head.major));
  return head.argument;
}

Result<ByteView> read_string(ByteView data, std::size_t& pos, Major major, std::string_view what,
                             std::string_view item) {
  const std::size_t start = pos;
  CODEX_TRY_ASSIGN(std::uint64_t length, read_expected(data, pos, major, what, item));
  if (length > data.size() - pos)
    return make_error(Errc::corrupt, "{}: {} at byte {} claims {} bytes but only {} remain", what, item, start, length,
                      data.size() - pos);
  ByteView content = data.subspan(pos, static_cast<std::size_t>(length));
  pos += static_cast<std::size_t>(length);
  return content;
}

}  // namespace codex::cbor
