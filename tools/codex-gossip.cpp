// codex-gossip: a member's network identity, its community membership, and
// the daemon that talks to the other members. Verbs:
//   id                    print this node's peer id
//   community create      make a community (owner key) and admit this node
//   admit PEERID          sign a membership certificate (owner)
//   revoke PEERID         sign a revocation (owner) and spread it
//   join CERT             install this node's certificate
//   run                   the daemon, in the foreground
//   status|peers|members  ask the running daemon
//   datasets|jobs         the datasets this member's core tracks; its slot transfers
//   dataset CID           the community's view of a dataset, slot by slot
//   publish CID           place a dataset of the repository on the community
//   pin|unpin CID         keep a plain dataset here (fetched, served), or stop
//   partition             fault injection for tests: cut peers off, drop messages
#include <csignal>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cstdio>
#include <ctime>
#include <fstream>

#include "cli/tool.hpp"
#include "codex/community.hpp"
#include "codex/daemon/community_client.hpp"
#include "codex/daemon/config.hpp"
#include "codex/daemon/control.hpp"
#include "codex/daemon/daemon.hpp"
#include "codex/daemon/node_files.hpp"
#include "codex/identity.hpp"
#include "codex/json.hpp"

using namespace codex;
using namespace codex::daemon;

namespace {

constexpr std::int64_t kDay = 86400;

struct Options {
  std::string verb;
  std::vector<std::string> args;
  std::string key, owner_key, config, log_level, output;
  std::vector<std::string> listen, bootstrap, drop;
  std::int64_t expires_days = 90;
  std::int64_t loss = -1;  // partition: -1 leaves the rate as it is
  bool heal = false;
};

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

Status expect_args(const Options& o, std::size_t n, std::string_view usage) {
  if (o.args.size() != n) return make_error(Errc::usage, "usage: codex-gossip {}", usage);
  return {};
}

Result<Ed25519Key> owner_key(const Options& o, const NodePaths& paths) {
  auto file = o.owner_key.empty() ? paths.owner_key() : std::filesystem::path(o.owner_key);
  auto key = Ed25519Key::load_pem(file);
  if (!key && key.error().code == Errc::not_found)
    return make_error(Errc::not_found, "no owner key '{}' (make one with 'codex-gossip community create', or give --owner-key)",
                      file.string());
  return key;
}

Status write_text(const Options& o, const std::string& text) {
  if (o.output.empty() || o.output == "-") {
    std::fputs(text.c_str(), stdout);
    return {};
  }
  return write_file_atomic(o.output, as_bytes(text));
}

// Certificates and revocations travel as one line of hex (mail, chat, ssh).
Result<Bytes> read_record_file(const std::string& file, std::size_t size) {
  CODEX_TRY_ASSIGN(Bytes bytes, read_small_file(file == "-" ? "/dev/stdin" : file, 4 * size + 64));
  if (bytes.size() == size) return bytes;
  std::string text(bytes.begin(), bytes.end());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  auto decoded = from_hex(text);
  if (!decoded) return make_error(Errc::corrupt, "'{}' is neither a {}-byte record nor its hex text", file, size);
  return *decoded;
}

Status verb_id(cli::Tool& tool, const Options& o, const NodePaths& paths) {
  CODEX_TRY(expect_args(o, 0, "id [--key FILE] [--json]"));
  auto file = o.key.empty() ? paths.node_key() : std::filesystem::path(o.key);
  if (o.key.empty()) CODEX_TRY(ensure_dir(paths.dir));
  CODEX_TRY_ASSIGN(auto key, o.key.empty() ? Ed25519Key::load_or_create(file) : Ed25519Key::load_pem(file));
  if (tool.common().json)
    std::printf("%s\n", JsonObject()
                            .add("peer_id", key.peer_id().to_string())
                            .add("public_key", to_hex(key.public_key()))
                            .add("key_file", file.string())
                            .str()
                            .c_str());
  else
    std::printf("%s\n", key.peer_id().to_string().c_str());
  return {};
}

Status verb_community(cli::Tool& tool, const Options& o, const NodePaths& paths) {
  if (o.args.size() != 1 || o.args[0] != "create")
    return make_error(Errc::usage, "usage: codex-gossip community create [--owner-key FILE] [--expires-days N]");
  CODEX_TRY(ensure_dir(paths.dir));
  auto file = o.owner_key.empty() ? paths.owner_key() : std::filesystem::path(o.owner_key);
  std::error_code ec;
  if (std::filesystem::exists(file, ec))
    return make_error(Errc::usage, "owner key '{}' exists already: this node owns a community", file.string());
  CODEX_TRY_ASSIGN(auto owner, Ed25519Key::generate());
  CODEX_TRY(owner.save_pem(file));
  CODEX_TRY_ASSIGN(auto node, Ed25519Key::load_or_create(paths.node_key()));
  auto cert = MembershipCertificate::issue(owner, node.peer_id(), now(), now() + o.expires_days * kDay,
                                           static_cast<std::uint64_t>(now()));
  CODEX_TRY(write_file_atomic(paths.certificate(), cert.encode()));
  Community community{owner.public_key()};
  tool.info(fmt::format("owner key in {} (keep it safe, ideally offline); this node ({}) is admitted",
                        file.string(), node.peer_id().to_string()));
  if (tool.common().json)
    std::printf("%s\n", JsonObject()
                            .add("community", community.to_string())
                            .add("owner_key", file.string())
                            .add("member", node.peer_id().to_string())
                            .str()
                            .c_str());
  else
    std::printf("%s\n", community.to_string().c_str());
  return {};
}

Status verb_admit(cli::Tool& tool, const Options& o, const NodePaths& paths) {
  CODEX_TRY(expect_args(o, 1, "admit PEERID [--owner-key FILE] [--expires-days N] [-o FILE]"));
  CODEX_TRY_ASSIGN(auto peer, PeerId::parse(o.args[0]));
  CODEX_TRY_ASSIGN(auto owner, owner_key(o, paths));
  auto cert = MembershipCertificate::issue(owner, peer, now(), now() + o.expires_days * kDay,
                                           static_cast<std::uint64_t>(now()));
  CODEX_TRY(write_text(o, to_hex(cert.encode()) + "\n"));
  tool.info(fmt::format("certificate for {} expires in {} days; on that node run: codex-gossip join FILE",
                        peer.to_string(), o.expires_days));
  return {};
}

Status verb_join(cli::Tool& tool, const Options& o, const NodePaths& paths) {
  CODEX_TRY(expect_args(o, 1, "join CERTIFICATE-FILE"));
  CODEX_TRY_ASSIGN(Bytes bytes, read_record_file(o.args[0], MembershipCertificate::kEncodedSize));
  CODEX_TRY_ASSIGN(auto cert, MembershipCertificate::decode(bytes));
  CODEX_TRY(ensure_dir(paths.dir));
  CODEX_TRY_ASSIGN(auto node, Ed25519Key::load_or_create(paths.node_key()));
  if (cert.member != node.peer_id())
    return make_error(Errc::rejected, "the certificate is for {}, not for this node ({})", cert.member.to_string(),
                      node.peer_id().to_string());
  CODEX_TRY(cert.verify(cert.community(), now()));
  CODEX_TRY(write_file_atomic(paths.certificate(), cert.encode()));
  tool.info(fmt::format("joined community {} (certificate expires at {}); restart the daemon to use it",
                        cert.community().to_string(), cert.expires));
  return {};
}

Status verb_revoke(cli::Tool& tool, const Options& o, const NodePaths& paths) {
  CODEX_TRY(expect_args(o, 1, "revoke PEERID [--owner-key FILE]"));
  CODEX_TRY_ASSIGN(auto peer, PeerId::parse(o.args[0]));
  CODEX_TRY_ASSIGN(auto owner, owner_key(o, paths));
  // admit uses the issue time as serial: revoking up to now covers every
  // certificate issued so far, and a later admit re-admits.
  auto revocation = Revocation::issue(owner, peer, static_cast<std::uint64_t>(now()), now());
  CODEX_TRY(ensure_dir(paths.dir));
  CODEX_TRY(append_revocation(paths, revocation));
  std::string hex = to_hex(revocation.encode());
  auto sent = control_request(paths.control_socket(), JsonObject().add("command", "revoke").add("revocation", hex).str(),
                              std::chrono::seconds(10));
  if (sent) tool.info("the running daemon is spreading the revocation to its peers");
  else if (sent.error().code == Errc::not_found) tool.info("no daemon running here: the revocation spreads when one starts");
  else tool.warn(sent.error().message);
  return write_text(o, hex + "\n");
}

Status verb_run(cli::Tool& tool, const Options& o, const NodePaths& paths) {
  CODEX_TRY(expect_args(o, 0, "run [--listen ADDR]... [--bootstrap ADDR]... [--config FILE]"));
  auto config_file = o.config.empty() ? paths.config() : std::filesystem::path(o.config);
  CODEX_TRY_ASSIGN(Config config, load_config(config_file, !o.config.empty()));
  if (!o.listen.empty()) config.listen = o.listen;
  for (const auto& b : o.bootstrap) config.bootstrap.push_back(b);
  if (!o.log_level.empty()) {
    CODEX_TRY_ASSIGN(config.log_level, parse_log_level(o.log_level));
  } else if (tool.common().verbose > 0) config.log_level = LogLevel::debug;
  else if (tool.common().quiet) config.log_level = LogLevel::warn;
  Log log(config.log_level);
#ifdef __GLIBC__
  // Block-exchange messages are ~1 MiB each: with glibc's defaults every one
  // is a fresh mmap, page-faulted in and zeroed, then unmapped. Kept in the
  // heap they are reused; the daemon trims the heap when a transfer ends.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
  asio::io_context io(1);
  CODEX_TRY_ASSIGN(auto daemon, Daemon::create(io, DaemonOptions{paths.dir, config}, log));
  CODEX_TRY(daemon->start());
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer grace(io);
  signals.async_wait([&](std::error_code ec, int signal) {
    if (ec) return;
    log.info("daemon", "signal {}: shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
    daemon->stop();
    // Let GoAway frames leave, then end the loop whatever is still pending.
    grace.expires_after(std::chrono::milliseconds(300));
    grace.async_wait([&](std::error_code) { io.stop(); });
  });
  io.run();
  return {};
}

std::string text_of(const json::Value& v) {
  switch (v.kind) {
    case json::Kind::null: return "-";
    case json::Kind::boolean: return v.boolean ? "yes" : "no";
    case json::Kind::integer: return (v.negative ? "-" : "") + std::to_string(v.magnitude);
    case json::Kind::string: return v.string;
    case json::Kind::array: {
      std::string out;
      for (const auto& e : v.array) out += (out.empty() ? "" : " ") + text_of(e);
      return out.empty() ? "-" : out;
    }
    case json::Kind::object: return "{...}";
  }
  return "";
}

// Re-encodes a parsed value as JSON (the daemon's answer, minus "ok").
std::string json_of(const json::Value& v) {
  switch (v.kind) {
    case json::Kind::null: return "null";
    case json::Kind::boolean: return v.boolean ? "true" : "false";
    case json::Kind::integer: return (v.negative ? "-" : "") + std::to_string(v.magnitude);
    case json::Kind::string: return json_quote(v.string);
    case json::Kind::array: {
      std::string out = "[";
      for (const auto& e : v.array) out += (out.size() > 1 ? "," : "") + json_of(e);
      return out + "]";
    }
    case json::Kind::object: {
      std::string out = "{";
      for (const auto& [k, e] : v.object) {
        if (k == "ok") continue;
        out += (out.size() > 1 ? "," : "") + json_quote(k) + ":" + json_of(e);
      }
      return out + "}";
    }
  }
  return "null";
}

// dataset CID | publish CID | pin CID | unpin CID | datasets | jobs: the
// community's side of the daemon.
Status verb_community_view(cli::Tool& tool, const Options& o, const NodePaths& paths) {
  const bool with_cid = o.verb == "dataset" || o.verb == "publish" || o.verb == "pin" || o.verb == "unpin";
  CODEX_TRY(expect_args(o, with_cid ? 1 : 0, o.verb + (with_cid ? " CID" : "") + " [--json]"));
  JsonObject request;
  request.add("command", o.verb);
  if (with_cid) {
    CODEX_TRY_ASSIGN(Cid cid, Cid::parse(o.args[0]));
    request.add("cid", cid.to_string());
  }
  // pin fetches a whole dataset: as long as that takes (the daemon bounds each request).
  const auto limit = o.verb == "pin" ? std::chrono::seconds(24 * 3600) : std::chrono::seconds(60);
  CODEX_TRY_ASSIGN(auto answer, control_request(paths.control_socket(), request.str(), limit));
  if (tool.common().json) {
    std::printf("%s\n", json_of(answer).c_str());
    return {};
  }
  if (o.verb == "dataset") {
    std::printf("%s", community_view_table(answer).c_str());
    return {};
  }
  if (o.verb == "pin" || o.verb == "unpin") {
    std::printf("%s\n", text_of(*answer.find("cid")).c_str());
    if (o.verb == "pin")
      tool.info(fmt::format("kept and served here: {} blocks, {} fetched", text_of(*answer.find("blocks")),
                            text_of(*answer.find("fetched"))));
    else
      tool.info("no longer kept here (codex-repo gc reclaims its space)");
    return {};
  }
  if (o.verb == "publish") {
    std::printf("%s\n", text_of(*answer.find("cid")).c_str());
    if (const json::Value* placement = answer.find("placement"); placement && placement->kind == json::Kind::array)
      for (std::size_t i = 0; i < placement->array.size(); ++i)
        std::printf("slot %zu -> %s\n", i, text_of(placement->array[i]).c_str());
    return {};
  }
  const json::Value* list = answer.find(o.verb);
  if (!list || list->kind != json::Kind::array) return make_error(Errc::corrupt, "the daemon's answer has no '{}' list", o.verb);
  for (const auto& e : list->array) {
    std::string line;
    for (const auto& [k, v] : e.object) line += (line.empty() ? "" : "  ") + k + "=" + text_of(v);
    std::printf("%s\n", line.c_str());
  }
  return {};
}

// partition [--drop PEERID]... [--loss PERCENT] [--heal]: a test facility.
Status verb_partition(cli::Tool& tool, const Options& o, const NodePaths& paths) {
  CODEX_TRY(expect_args(o, 0, "partition [--drop PEERID]... [--loss PERCENT] [--heal] [--json]"));
  std::string drop = "[";
  for (const auto& text : o.drop) {
    CODEX_TRY_ASSIGN(auto peer, PeerId::parse(text));
    drop += (drop.size() > 1 ? "," : "") + json_quote(peer.to_string());
  }
  drop += "]";
  JsonObject request;
  request.add("command", "partition");
  if (o.heal) request.add("heal", true);
  if (!o.drop.empty()) request.add_raw("drop", drop);
  if (o.loss >= 0) request.add("loss_percent", static_cast<std::uint64_t>(o.loss));
  CODEX_TRY_ASSIGN(auto answer, control_request(paths.control_socket(), request.str(), std::chrono::seconds(10)));
  if (tool.common().json) {
    std::printf("%s\n", json_of(answer).c_str());
    return {};
  }
  for (const auto& [k, v] : answer.object)
    if (k != "ok") std::printf("%s: %s\n", k.c_str(), text_of(v).c_str());
  return {};
}

Status verb_query(cli::Tool& tool, const Options& o, const NodePaths& paths) {
  CODEX_TRY(expect_args(o, 0, o.verb + " [--json]"));
  CODEX_TRY_ASSIGN(auto answer, control_request(paths.control_socket(), JsonObject().add("command", o.verb).str(),
                                                std::chrono::seconds(30)));
  if (tool.common().json) {
    if (o.verb == "status") {
      std::printf("%s\n", json_of(answer).c_str());
    } else {
      const json::Value* list = answer.find(o.verb);
      if (list && list->kind == json::Kind::array)
        for (const auto& e : list->array) std::printf("%s\n", json_of(e).c_str());
    }
    return {};
  }
  if (o.verb == "status") {
    for (const auto& [k, v] : answer.object)
      if (k != "ok") std::printf("%s: %s\n", k.c_str(), text_of(v).c_str());
    return {};
  }
  const json::Value* list = answer.find(o.verb);
  if (!list || list->kind != json::Kind::array) return make_error(Errc::corrupt, "the daemon's answer has no '{}' list", o.verb);
  for (const auto& e : list->array) {
    std::string line;
    for (const auto& [k, v] : e.object) line += (line.empty() ? "" : "  ") + (k == "peer_id" ? text_of(v) : k + "=" + text_of(v));
    std::printf("%s\n", line.c_str());
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  cli::Tool tool("codex-gossip", "A member's network identity, its community membership, and the daemon that talks to the other members.");
  CLI::App& app = tool.app();
  Options o;
  app.add_option("VERB", o.verb,
                 "id, community, admit, revoke, join, run, status, peers, members, datasets, dataset, jobs, publish, pin, unpin or partition")
      ->required()
      ->check(CLI::IsMember({"id", "community", "admit", "revoke", "join", "run", "status", "peers", "members",
                             "datasets", "dataset", "jobs", "publish", "pin", "unpin", "partition"}))
      ->type_name("");
  app.add_option("ARGS", o.args,
                 "the verb's arguments (community: create; admit, revoke: PEERID; join: FILE; dataset, publish, pin, unpin: CID)")
      ->type_name("");
  app.add_option("--key", o.key, "id: read the node key from FILE instead of the repository's node.key")->type_name("FILE");
  app.add_option("--owner-key", o.owner_key, "community, admit, revoke: the owner key FILE (default: the repository's community-owner.key)")
      ->type_name("FILE");
  app.add_option("--expires-days", o.expires_days, "community, admit: certificate lifetime in days (default 90)")
      ->check(CLI::Range(1, 3650))
      ->type_name("N");
  app.add_option("-o,--output", o.output, "admit, revoke: write the record (hex) to FILE instead of stdout")->type_name("FILE");
  app.add_option("--listen", o.listen, "run: listen on this multiaddr (repeatable; default /ip4/127.0.0.1/tcp/0)")
      ->type_name("ADDR")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--bootstrap", o.bootstrap, "run: dial this member (multiaddr with /p2p/PEERID; repeatable)")
      ->type_name("ADDR")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--config", o.config, "run: configuration FILE (default: the repository's gossip.conf if present)")
      ->type_name("FILE");
  app.add_option("--log-level", o.log_level, "run: error, warn, info (default) or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->type_name("LEVEL");
  app.add_option("--drop", o.drop,
                 "partition (a test facility): cut the running daemon off from this peer, both ways, until --heal "
                 "(repeatable; adds to the peers already cut off)")
      ->type_name("PEERID")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--loss", o.loss, "partition: drop this percentage of the daemon's outgoing community messages")
      ->check(CLI::Range(0, 100))
      ->type_name("PERCENT");
  app.add_flag("--heal", o.heal, "partition: reconnect every peer cut off and drop no more messages");
  tool.add_common(cli::kRepo | cli::kJson);

  return tool.run(argc, argv, [&]() -> Status {
    NodePaths paths{cli::resolve_repo(tool.common().repo)};
    if (o.verb == "id") return verb_id(tool, o, paths);
    if (o.verb == "community") return verb_community(tool, o, paths);
    if (o.verb == "admit") return verb_admit(tool, o, paths);
    if (o.verb == "join") return verb_join(tool, o, paths);
    if (o.verb == "revoke") return verb_revoke(tool, o, paths);
    if (o.verb == "run") return verb_run(tool, o, paths);
    if (o.verb == "datasets" || o.verb == "dataset" || o.verb == "jobs" || o.verb == "publish" || o.verb == "pin" ||
        o.verb == "unpin")
      return verb_community_view(tool, o, paths);
    if (o.verb == "partition") return verb_partition(tool, o, paths);
    return verb_query(tool, o, paths);
  });
}
