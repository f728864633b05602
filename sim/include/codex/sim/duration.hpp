// Durations on the command line of codex-sim: a number and a unit ("500ms",
// "30s", "15m", "24h", "1d", "2w", "1y"; a year is 365 days). Hostile input
// is refused with a message naming it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "codex/error.hpp"

namespace codex::sim {

// Seconds, as a double (the durability model works in fractions of hours).
Result<double> parse_duration_seconds(std::string_view text);

// Whole milliseconds (the simulator's clock), at most about 300 years.
Result<std::int64_t> parse_duration_ms(std::string_view text);

// The shortest exact-looking text for a duration in seconds ("1d", "90s", "1.5h").
std::string format_duration(double seconds);

}  // namespace codex::sim
