// Durations with units, as codex-sim takes them on its command line.
#include "codex/sim/duration.hpp"

#include <gtest/gtest.h>

namespace codex::sim {
namespace {

TEST(Duration, ParsesEachUnit) {
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("30s"), 30);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("15m"), 900);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("2min"), 120);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("1.5h"), 5400);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("1d"), 86400);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("1w"), 7 * 86400);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("1y"), 365 * 86400);
  EXPECT_DOUBLE_EQ(*parse_duration_seconds("1e3s"), 1000);
  EXPECT_EQ(*parse_duration_ms("2s"), 2000);
}

TEST(Duration, RefusesWhatIsNotADuration) {
  for (const char* bad : {"", "10", "s", "1x", "-1s", "0s", "nan s", "1e400s", "400y", "1.2.3s", "0.1ms"}) {
    auto r = parse_duration_ms(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::usage) << bad;
    }
  }
}

TEST(Duration, PrintsTheLargestWholeUnit) {
  EXPECT_EQ(format_duration(86400), "1d");
  EXPECT_EQ(format_duration(365 * 86400.0), "1y");
  EXPECT_EQ(format_duration(90), "90s");
  EXPECT_EQ(format_duration(5400), "90m");
  EXPECT_EQ(format_duration(0.25), "250ms");
}

}  // namespace
}  // namespace codex::sim
