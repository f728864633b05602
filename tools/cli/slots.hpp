// Slot lists on the command line: "0,2-3" -> bits 0, 2 and 3.
#pragma once

#include <cstdint>
#include <string>

#include "codex/error.hpp"

namespace codex::cli {

Result<std::uint32_t> parse_slot_list(const std::string& text);
std::string format_slot_list(std::uint32_t slots);

}  // namespace codex::cli
