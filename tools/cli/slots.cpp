// Slot lists; see slots.hpp.
#include "cli/slots.hpp"

#include <charconv>
#include <string_view>

namespace codex::cli {

static bool parse_number(std::string_view text, std::uint32_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

Result<std::uint32_t> parse_slot_list(const std::string& text) {
  std::uint32_t slots = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    std::uint32_t first = 0, last = 0;
    std::size_t dash = item.find('-');
    bool ok = dash == std::string_view::npos
                  ? parse_number(item, first) && (last = first, true)
                  : parse_number(item.substr(0, dash), first) && parse_number(item.substr(dash + 1), last);
    if (!ok || first > last || last > 31)
      return make_error(Errc::usage, "bad slot list '{}': '{}' is not a slot number (0-31) or range like 2-4", text,
                        std::string(item));
    for (std::uint32_t s = first; s <= last; ++s) slots |= 1u << s;
  }
  if (slots == 0) return make_error(Errc::usage, "bad slot list '{}': it names no slot", text);
  return slots;
}

std::string format_slot_list(std::uint32_t slots) {
  std::string out;
  for (std::uint32_t s = 0; s < 32; ++s) {
    if (!(slots >> s & 1u)) continue;
    if (!out.empty()) out += ",";
    out += std::to_string(s);
  }
  return out;
}

}  // namespace codex::cli
