// Parsing the daemon's configuration file (config.hpp).
#include "codex/daemon/config.hpp"

#include <charconv>

#include "codex/daemon/node_files.hpp"

namespace codex::daemon {
namespace {

constexpr std::size_t kMaxConfigSize = 64 * 1024;
constexpr std::size_t kMaxListEntries = 256;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Result<std::uint64_t> number(std::string_view v, std::uint64_t min, std::uint64_t max) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < min || n > max)
    return make_error(Errc::usage, "'{}' is not a whole number from {} to {}", v, min, max);
  return n;
}

}  // namespace

Result<LogLevel> parse_log_level(std::string_view text) {
  if (text == "error") return LogLevel::error;
  if (text == "warn") return LogLevel::warn;
  if (text == "info") return LogLevel::info;
  if (text == "debug") return LogLevel::debug;
  return make_error(Errc::usage, "log level '{}' is none of error, warn, info, debug", text);
}

Result<Config> parse_config(std::string_view text, std::string_view name) {
  Config config;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    auto eq = line.find('=');
    auto fail = [&](std::string_view why) {
      return make_error(Errc::usage, "{} line {}: {}", name, line_number, why);
    };
    if (eq == std::string_view::npos) return fail("expected 'key = value'");
    std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (value.empty()) return fail(fmt::format("'{}' has no value", key));
    auto list = [&](std::vector<std::string>& into) -> Status {
      if (into.size() >= kMaxListEntries) return fail(fmt::format("more than {} '{}' lines", kMaxListEntries, key));
      into.emplace_back(value);
      return {};
    };
    if (key == "listen") {
      CODEX_TRY(list(config.listen));
    } else if (key == "bootstrap") {
      CODEX_TRY(list(config.bootstrap));
    } else if (key == "protocol-core") {
      if (value != "yes" && value != "no") return fail("protocol-core is yes or no");
      config.protocol_core = value == "yes";
    } else if (key == "log-level") {
      auto level = parse_log_level(value);
      if (!level) return fail(level.error().message);
      config.log_level = *level;
    } else if (key == "max-connections" || key == "fetch-parallel" || key == "request-timeout" ||
               key == "idle-timeout") {
      auto n = number(value, 1, key == "max-connections" ? 100000 : key == "fetch-parallel" ? 256 : 86400);
      if (!n) return fail(fmt::format("{}: {}", key, n.error().message));
      if (key == "max-connections") config.max_connections = *n;
      else if (key == "fetch-parallel") config.fetch_parallel = *n;
      else if (key == "request-timeout") config.request_timeout = std::chrono::seconds(*n);
      else config.idle_timeout = std::chrono::seconds(*n);
    } else {
      return fail(fmt::format("unknown key '{}'", key));
    }
  }
  return config;
}

Result<Config> load_config(const std::filesystem::path& file, bool required) {
  auto bytes = read_small_file(file, kMaxConfigSize);
  if (!bytes) {
    if (bytes.error().code == Errc::not_found && !required) return Config{};
    return std::move(bytes).error();
  }
  return parse_config(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()),
                      file.string());
}

}  // namespace codex::daemon
