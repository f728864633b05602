// The tools' side of the daemon (client.hpp).
#include "codex/daemon/client.hpp"

#include "codex/daemon/control.hpp"
#include "codex/daemon/node_files.hpp"
#include "codex/json.hpp"
#include "codex/manifest.hpp"

namespace codex::daemon {

Result<bool> dataset_incomplete(Repository& repository, const Cid& manifest_cid) {
  CODEX_TRY_ASSIGN(auto record, repository.find_dataset(manifest_cid));
  if (!record) return true;
  auto leaves = repository.tree_leaves(record->manifest.tree);
  if (!leaves) return true;
  // A run of lookups at a time: one index query (one read lock) per run.
  constexpr std::size_t kRun = 4096;
  std::vector<std::optional<BlockLocation>> here;
  for (std::size_t first = 0; first < leaves->size(); first += kRun) {
    const auto run = std::span<const Digest>(*leaves).subspan(first, std::min(kRun, leaves->size() - first));
    here.assign(run.size(), std::nullopt);
    CODEX_TRY(repository.locate_blocks(run, here));
    for (std::size_t i = 0; i < run.size(); ++i)
      if (!here[i] && run[i] != empty_digest()) return true;
  }
  return false;
}

Result<std::optional<DaemonFetchReport>> fetch_through_daemon(const std::string& repo_dir, const Cid& manifest_cid) {
  NodePaths paths{repo_dir};
  // A fetch of a large dataset takes as long as it takes; the daemon bounds
  // each request to a member (idle and request timeouts).
  auto answer = control_request(paths.control_socket(),
                                JsonObject().add("command", "fetch").add("cid", manifest_cid.to_string()).str(),
                                std::chrono::hours(24));
  if (!answer) {
    if (answer.error().code == Errc::not_found && answer.error().message.find("no daemon") != std::string::npos)
      return std::optional<DaemonFetchReport>();
    return std::move(answer).error();
  }
  auto field = [&](const char* name) -> std::uint64_t {
    const json::Value* v = answer->find(name);
    return v && v->kind == json::Kind::integer && !v->negative ? v->magnitude : 0;
  };
  DaemonFetchReport report;
  report.blocks = field("blocks");
  report.already_held = field("already_held");
  report.fetched = field("fetched");
  report.missing = field("missing");
  return std::optional<DaemonFetchReport>(report);
}

Result<std::optional<std::size_t>> prepare_through_daemon(const std::string& repo_dir, const Cid& manifest_cid) {
  NodePaths paths{repo_dir};
  auto answer = control_request(paths.control_socket(),
                                JsonObject().add("command", "dataset-meta").add("cid", manifest_cid.to_string()).str(),
                                std::chrono::minutes(30));
  if (!answer) {
    if (answer.error().code == Errc::not_found && answer.error().message.find("no daemon") != std::string::npos)
      return std::optional<std::size_t>();
    return std::move(answer).error();
  }
  const json::Value* v = answer->find("members");
  return std::optional<std::size_t>(v && v->kind == json::Kind::integer && !v->negative ? v->magnitude : 0);
}

Result<DatasetRecord> dataset_record(Repository& repository, const Cid& manifest_cid) {
  CODEX_TRY_ASSIGN(auto held, repository.find_dataset(manifest_cid));
  if (held) return std::move(*held);
  auto digest = manifest_cid.sha256_digest();
  if (manifest_cid.codec() != codec::manifest || !digest)
    return make_error(Errc::usage, "'{}' is not a manifest CID", manifest_cid.to_string());
  DatasetRecord record;
  record.manifest_cid = manifest_cid;
  Status read = repository.read_block(*digest, record.manifest_bytes);
  if (!read.ok())
    return make_error(read.error().code, "manifest '{}' is not in repository '{}': {}", manifest_cid.to_string(),
                      repository.dir(), read.error().message);
  CODEX_TRY_ASSIGN(record.manifest, decode_manifest(record.manifest_bytes));
  return record;
}

}  // namespace codex::daemon
