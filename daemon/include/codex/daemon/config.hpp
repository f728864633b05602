// The daemon's configuration: a small text file of `key = value` lines
// (`#` starts a comment; keys may repeat where they are lists), overridden by
// command-line options. Documented in man/codex-gossip.1 and
// contrib/gossip.conf.example.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "codex/error.hpp"

namespace codex::daemon {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

struct Config {
  std::vector<std::string> listen;     // multiaddrs, e.g. /ip4/0.0.0.0/tcp/4001
  std::vector<std::string> bootstrap;  // multiaddrs with /p2p/<peer id>
  LogLevel log_level = LogLevel::info;
  std::size_t max_connections = 256;
  std::size_t fetch_parallel = 128;    // want-block requests in flight per peer (at most 256)
  std::chrono::seconds request_timeout{300};
  std::chrono::seconds idle_timeout{60};
  bool protocol_core = true;           // run the protocol core (membership) over /codex/altruistic/1.0.0
};

// Parses the text of a config file; errors name the line.
Result<Config> parse_config(std::string_view text, std::string_view name);
// Reads `file`; a missing file is an empty configuration unless `required`.
Result<Config> load_config(const std::filesystem::path& file, bool required);
Result<LogLevel> parse_log_level(std::string_view text);

}  // namespace codex::daemon
