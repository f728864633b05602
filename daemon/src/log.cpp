// Writing log lines (log.hpp): one write(2) per line so lines never interleave.
#include "codex/daemon/log.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

namespace codex::daemon {

void Log::write(LogLevel level, std::string_view component, std::string_view message) const {
  static const char* kNames[] = {"error", "warn ", "info ", "debug"};
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  std::string line = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {}: ", tm.tm_year + 1900,
                                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000,
                                 kNames[static_cast<int>(level)], component);
  // Peer-supplied text may end up in messages: no control characters reach the terminal.
  for (char c : message) line.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  line.push_back('\n');
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(2, line.data() + done, line.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace codex::daemon
