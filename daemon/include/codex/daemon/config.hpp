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
#include "codex/protocol/config.hpp"

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

  // The community at work (core_adapter.hpp). Protocol parameters keep
  // docs/protocol.md's defaults unless set (tests and demos shorten them).
  protocol::Config protocol;
  bool auto_repair = true;                      // no: rebuilds wait for `codex-repair --daemon`
  std::uint8_t lazy_repair_l0 = 1;              // for datasets published here
  std::chrono::milliseconds join_wait{10000};   // found the community alone when nobody shows up by then
  std::uint32_t proof_samples = 4;              // cells per storage proof
  std::uint64_t repair_bandwidth = 0;           // bytes per second a slot transfer may use, 0: no cap
};

// Parses the text of a config file; errors name the line.
Result<Config> parse_config(std::string_view text, std::string_view name);
// Reads `file`; a missing file is an empty configuration unless `required`.
Result<Config> load_config(const std::filesystem::path& file, bool required);
Result<LogLevel> parse_log_level(std::string_view text);

}  // namespace codex::daemon
