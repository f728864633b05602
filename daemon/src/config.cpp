// Parsing the daemon's configuration file (config.hpp).
#include "codex/daemon/config.hpp"

#include <charconv>
#include <optional>

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

// The community keys (protocol parameters, repair): nullopt when `key` is none of them.
std::optional<Status> community_key(Config& config, std::string_view key, std::string_view value) {
  auto& p = config.protocol;
  auto ms = [&](protocol::Time& field, std::uint64_t min) -> Status {
    CODEX_TRY_ASSIGN(auto n, number(value, min, 30ull * 86400 * 1000));
    field = static_cast<protocol::Time>(n);
    return {};
  };
  auto count = [&](std::uint32_t& field, std::uint64_t min, std::uint64_t max) -> Status {
    CODEX_TRY_ASSIGN(auto n, number(value, min, max));
    field = static_cast<std::uint32_t>(n);
    return {};
  };
  Status st;
  if (key == "probe-interval-ms") st = ms(p.probe_interval, 10);
  else if (key == "probe-timeout-ms") st = ms(p.probe_timeout, 10);
  else if (key == "suspicion-multiplier") st = count(p.suspicion_multiplier, 1, 100);
  else if (key == "indirect-checks") st = count(p.indirect_checks, 0, 16);
  else if (key == "gossip-interval-ms") st = ms(p.gossip_interval, 0);
  else if (key == "gossip-fanout") st = count(p.gossip_fanout, 1, 16);
  else if (key == "sync-interval-ms") st = ms(p.sync_interval, 10);
  else if (key == "heartbeat-interval-ms") st = ms(p.heartbeat_interval, 10);
  else if (key == "heartbeat-proofs") st = count(p.heartbeat_proofs, 0, 64);
  else if (key == "suspect-after-missed") st = count(p.suspect_after_missed, 1, 1000);
  else if (key == "lost-after-missed") st = count(p.lost_after_missed, 2, 1000);
  else if (key == "loss-confirmations") st = count(p.loss_confirmations, 1, 32);
  else if (key == "repair-candidates") st = count(p.repair_candidates, 1, 32);
  else if (key == "repair-backoff-ms") st = ms(p.repair_backoff, 10);
  else if (key == "repair-timeout-ms") st = ms(p.repair_timeout, 10);
  else if (key == "max-concurrent-repairs") st = count(p.max_concurrent_repairs, 1, 64);
  else if (key == "proof-samples") st = count(config.proof_samples, 1, 256);
  else if (key == "lazy-repair-l0") {
    std::uint32_t l0 = 1;
    st = count(l0, 1, 32);
    config.lazy_repair_l0 = static_cast<std::uint8_t>(l0);
  } else if (key == "join-wait-ms") {
    protocol::Time t = 0;
    st = ms(t, 0);
    config.join_wait = std::chrono::milliseconds(t);
  } else if (key == "repair-bandwidth") {
    auto n = number(value, 0, 1ull << 40);
    if (!n) st = std::move(n).error();
    else config.repair_bandwidth = *n;
  } else if (key == "auto-repair") {
    if (value != "yes" && value != "no") st = make_error(Errc::usage, "auto-repair is yes or no");
    else config.auto_repair = value == "yes";
  } else {
    return std::nullopt;
  }
  if (!st) return make_error(st.error().code, "{}: {}", key, st.error().message);
  return Status{};
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
    } else if (auto community = community_key(config, key, value); community.has_value()) {
      if (!*community) return fail(community->error().message);
    } else {
      return fail(fmt::format("unknown key '{}'", key));
    }
  }
  if (config.protocol.lost_after_missed <= config.protocol.suspect_after_missed)
    return make_error(Errc::usage, "{}: lost-after-missed must be more than suspect-after-missed", name);
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
