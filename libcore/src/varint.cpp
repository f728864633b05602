// Unsigned LEB128 as multiformats define it (github.com/multiformats/unsigned-varint):
// at most 9 bytes, so values below 2^63, and only the shortest encoding of each
// value is valid. The strictness matters because a CID is compared byte for
// byte: two spellings of one number would give two CIDs for one block.
#include "codex/varint.hpp"

namespace codex {

namespace {
constexpr std::size_t kMaxVarintBytes = 9;
}

void put_varint(Bytes& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

std::size_t varint_size(std::uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

Result<std::uint64_t> read_varint(ByteView data, std::size_t& pos) {
  const std::size_t start = pos;
  std::uint64_t value = 0;
  for (std::size_t i = 0;; ++i) {
    if (i == kMaxVarintBytes)
      return make_error(Errc::corrupt, "varint at byte {} is longer than {} bytes", start, kMaxVarintBytes);
    if (start + i >= data.size())
      return make_error(Errc::corrupt, "varint at byte {} is truncated at byte {}", start, data.size());
    const std::uint8_t byte = data[start + i];
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      // A last byte of zero adds nothing: the same value had a shorter form.
      if (byte == 0 && i > 0)
        return make_error(Errc::corrupt, "varint at byte {} is not minimally encoded", start);
      pos = start + i + 1;
      return value;
    }
  }
}

}  // namespace codex
