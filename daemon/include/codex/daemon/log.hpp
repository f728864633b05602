// The daemon's log on stderr, one line per event:
//
//   2026-12-01T17:20:00.123Z info  blockexc: peer=12D3KooW... dropped: block data does not hash to its CID
//
// UTC time with milliseconds, the level padded to five characters, the
// component, then free text (key=value pairs where they help grepping).
// Documented in man/codex-gossip.1 (LOGGING).
#pragma once

#include <string_view>

#include <fmt/core.h>

#include "codex/daemon/config.hpp"

namespace codex::daemon {

class Log {
 public:
  explicit Log(LogLevel level = LogLevel::info) : level_(level) {}
  void set_level(LogLevel level) { level_ = level; }
  bool enabled(LogLevel level) const { return level <= level_; }
  void write(LogLevel level, std::string_view component, std::string_view message) const;

  template <class... Args>
  void error(std::string_view c, fmt::format_string<Args...> f, Args&&... a) const {
    if (enabled(LogLevel::error)) write(LogLevel::error, c, fmt::format(f, std::forward<Args>(a)...));
  }
  template <class... Args>
  void warn(std::string_view c, fmt::format_string<Args...> f, Args&&... a) const {
    if (enabled(LogLevel::warn)) write(LogLevel::warn, c, fmt::format(f, std::forward<Args>(a)...));
  }
  template <class... Args>
  void info(std::string_view c, fmt::format_string<Args...> f, Args&&... a) const {
    if (enabled(LogLevel::info)) write(LogLevel::info, c, fmt::format(f, std::forward<Args>(a)...));
  }
  template <class... Args>
  void debug(std::string_view c, fmt::format_string<Args...> f, Args&&... a) const {
    if (enabled(LogLevel::debug)) write(LogLevel::debug, c, fmt::format(f, std::forward<Args>(a)...));
  }

 private:
  LogLevel level_;
};

}  // namespace codex::daemon
