// Unsigned LEB128 varints as multiformats use them (at most 9 bytes, minimal
// encoding required when reading).
#pragma once

#include <cstddef>
#include <cstdint>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex {

void put_varint(Bytes& out, std::uint64_t value);
std::size_t varint_size(std::uint64_t value);
// Reads one varint at data[pos] and advances pos past it. Errors (Errc::corrupt)
// name what was wrong: truncated, overlong (> 9 bytes), not minimal.
Result<std::uint64_t> read_varint(ByteView data, std::size_t& pos);

}  // namespace codex
