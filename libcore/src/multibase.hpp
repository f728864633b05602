// Private to libcore: multibase decoding that reports positions within a larger
// text (a CID's text after its one-character multibase prefix), and the way
// errors show one character of hostile input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex {

// Error positions are `offset` + the index within `text`.
Result<Bytes> base58btc_decode_at(std::string_view text, std::size_t offset);
Result<Bytes> base32_decode_at(std::string_view text, std::size_t offset);

// "'x'" for a printable ASCII character, "byte 0x0a" otherwise.
std::string printable_char(char c);

}  // namespace codex
