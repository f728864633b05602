// Parsing and printing durations with units; see duration.hpp.
#include "codex/sim/duration.hpp"

#include <fmt/core.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

namespace codex::sim {
namespace {

struct Unit {
  std::string_view name;
  double seconds;
};
constexpr std::array<Unit, 8> kUnits{{{"ms", 0.001}, {"s", 1}, {"min", 60}, {"m", 60}, {"h", 3600}, {"d", 86400},
                                      {"w", 7 * 86400}, {"y", 365 * 86400}}};
constexpr double kMaxSeconds = 300.0 * 365 * 86400;

}  // namespace

Result<double> parse_duration_seconds(std::string_view text) {
  if (text.empty() || text.size() > 32) return make_error(Errc::usage, "duration '{}' is not a number with a unit (e.g. 30s, 1d)", text);
  std::size_t split = 0;
  while (split < text.size() && (std::isdigit(static_cast<unsigned char>(text[split])) || text[split] == '.' ||
                                 text[split] == 'e' || text[split] == 'E' || text[split] == '-' || text[split] == '+'))
    ++split;
  // "1e" is a number "1" and the unknown unit "e"; back off a trailing e.
  while (split > 0 && (text[split - 1] == 'e' || text[split - 1] == 'E')) --split;
  double value = 0;
  const std::string number(text.substr(0, split));
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size())
    return make_error(Errc::usage, "duration '{}' does not start with a number", text);
  const std::string_view unit = text.substr(split);
  for (const Unit& u : kUnits) {
    if (u.name != unit) continue;
    const double seconds = value * u.seconds;
    if (!std::isfinite(seconds) || seconds <= 0 || seconds > kMaxSeconds)
      return make_error(Errc::usage, "duration '{}' must be positive and at most 300y", text);
    return seconds;
  }
  return make_error(Errc::usage, "duration '{}' has no known unit (ms, s, m, h, d, w, y)", text);
}

Result<std::int64_t> parse_duration_ms(std::string_view text) {
  CODEX_TRY_ASSIGN(double seconds, parse_duration_seconds(text));
  const double ms = std::round(seconds * 1000);
  if (ms < 1) return make_error(Errc::usage, "duration '{}' is shorter than a millisecond", text);
  return static_cast<std::int64_t>(ms);
}

std::string format_duration(double seconds) {
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    if (it->name == "min") continue;
    const double count = seconds / it->seconds;
    if (count >= 1 && std::fabs(count - std::round(count)) < 1e-9 * count) return fmt::format("{}{}", std::llround(count), it->name);
  }
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it)
    if (it->name != "min" && seconds >= it->seconds) return fmt::format("{:.4g}{}", seconds / it->seconds, it->name);
  return fmt::format("{:.4g}s", seconds);
}

}  // namespace codex::sim
