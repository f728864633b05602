// Byte buffers and views, and hex text for people and tests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace codex {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using MutableByteView = std::span<std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string to_hex(ByteView bytes);
// Lowercase or uppercase hex, even length; nullopt otherwise.
std::optional<Bytes> from_hex(std::string_view hex);

}  // namespace codex
