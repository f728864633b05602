// codex-repair: rebuild the missing or corrupt blocks of the slots this node
// holds, from what it holds. Meant for cron: the exit code says what happened
// (0 nothing to do, 8 repaired, 7 could not repair; with --dry-run 6 when
// there is work to do), --json says what was done. With --daemon it does,
// through the member's daemon, the slot rebuilds the community asked of this
// member (for a daemon run with auto-repair = no), with the same exit codes.
#include "cli/datasets.hpp"
#include "cli/tool.hpp"
#include "codex/block_source.hpp"
#include "codex/daemon/community_client.hpp"
#include "codex/dataset.hpp"
#include "codex/health.hpp"
#include "codex/json.hpp"

using namespace codex;

namespace {

// --daemon: the rebuilds waiting on this member (or only those of CIDS).
Status repair_through_daemon(cli::Tool& tool, const std::vector<std::string>& cids, bool dry_run) {
  if (cids.size() > 1) return make_error(Errc::usage, "--daemon takes at most one CID");
  const std::string dir = cli::resolve_repo(tool.common().repo);
  JsonObject request;
  request.add("command", "repair").add("dry_run", dry_run);
  if (!cids.empty()) {
    CODEX_TRY_ASSIGN(Cid cid, Cid::parse(cids[0]));
    request.add("cid", cid.to_string());
  }
  // A rebuild takes as long as its fetch: the daemon bounds each request to a member.
  CODEX_TRY_ASSIGN(auto answer, daemon::community_request(dir, request.str(), std::chrono::hours(24)));
  if (!answer) return make_error(Errc::not_found, "no daemon runs on repository '{}' (codex-gossip run)", dir);
  auto number = [&](const char* name) -> std::uint64_t {
    const json::Value* v = answer->find(name);
    return v && v->kind == json::Kind::integer ? v->magnitude : 0;
  };
  const std::uint64_t count = number(dry_run ? "waiting" : "started"), failed = number("failed");
  if (tool.common().json) {
    const json::Value* jobs = answer->find("jobs");
    std::string list = "[";
    if (jobs && jobs->kind == json::Kind::array)
      for (const auto& j : jobs->array) {
        const json::Value* kind = j.find("kind");
        if (!kind || kind->kind != json::Kind::string || kind->string != "rebuild") continue;
        JsonObject o;
        for (const char* k : {"dataset", "phase", "error"})
          if (const json::Value* v = j.find(k); v && v->kind == json::Kind::string) o.add(k, v->string);
        for (const char* k : {"slot", "blocks_total", "bytes_fetched", "elapsed_ms"})
          if (const json::Value* v = j.find(k); v && v->kind == json::Kind::integer) o.add(k, v->magnitude);
        list += (list.size() > 1 ? "," : "") + o.str();
      }
    std::printf("%s\n", JsonObject()
                            .add("daemon", true)
                            .add("dryRun", dry_run)
                            .add(dry_run ? "waiting" : "started", count)
                            .add("failed", failed)
                            .add_raw("jobs", list + "]")
                            .str()
                            .c_str());
  } else if (count > 0) {
    std::printf("%s\n", fmt::format("{} slot rebuild(s) {}{}", count, dry_run ? "waiting for this member" : "done",
                                     failed ? fmt::format(", {} failed", failed) : std::string())
                             .c_str());
  } else {
    tool.verbose("no slot rebuild waits for this member");
  }
  if (failed) return Error{Errc::unrecoverable, ""};
  if (count == 0) return {};
  return Error{dry_run ? Errc::damaged : Errc::repaired, ""};
}

}  // namespace

int main(int argc, char** argv) {
  cli::Tool tool("codex-repair", "Rebuild missing or corrupt blocks of the datasets and slots this repository holds.");
  CLI::App& app = tool.app();
  std::vector<std::string> cids;
  bool dry_run = false, through_daemon = false;
  app.add_option("CID", cids, "datasets to repair (none: every dataset in the repository)")->type_name("");
  app.add_flag("-n,--dry-run", dry_run, "print the plan; change nothing");
  app.add_flag("--daemon", through_daemon,
               "do the slot rebuilds the community asked of this member, through its daemon (auto-repair = no)");
  tool.add_common(cli::kRepo | cli::kJson);

  return tool.run(argc, argv, [&]() -> Status {
    if (through_daemon) return repair_through_daemon(tool, cids, dry_run);
    CODEX_TRY_ASSIGN(auto repository, Repository::open(cli::resolve_repo(tool.common().repo), Repository::OpenMode::existing));
    CODEX_TRY_ASSIGN(std::vector<DatasetRecord> records, cli::select_datasets(*repository, cids));
    auto source = repository_source(*repository);
    std::vector<RepairReport> reports;
    for (const auto& record : records) {
      RepairOptions options;
      options.dry_run = dry_run;
      CODEX_TRY_ASSIGN(RepairReport report, repair_dataset(*repository, *source, record, options));
      const auto& before = report.before;
      const bool needed = !before.bad.empty();
      if (tool.common().json) {
        std::string rebuilt = "[";
        for (auto index : report.rebuilt) rebuilt += (rebuilt.size() > 1 ? "," : "") + std::to_string(index);
        JsonObject line;
        line.add("cid", report.cid.to_string())
            .add("dryRun", dry_run)
            .add("before", dataset_state_name(before.state))
            .add("missing", before.missing)
            .add("corrupt", before.corrupt)
            .add_raw(dry_run ? "planned" : "rebuilt", rebuilt + "]")
            .add("after", dataset_state_name(report.after));
        if (!report.failure.empty()) line.add("error", report.failure);
        std::printf("%s\n", line.str().c_str());
      } else if (needed) {
        std::string what = fmt::format("{}: {} missing, {} corrupt; {} {} block(s)", report.cid.to_string(),
                                       before.missing, before.corrupt, dry_run ? "would rebuild" : "rebuilt",
                                       report.rebuilt.size());
        if (dry_run || !tool.common().quiet) std::printf("%s\n", what.c_str());
        if (!report.failure.empty()) tool.warn(fmt::format("{}: cannot repair: {}", report.cid.to_string(), report.failure));
      } else {
        tool.verbose(fmt::format("{}: intact", report.cid.to_string()));
      }
      reports.push_back(std::move(report));
    }
    return repair_outcome(reports, dry_run);
  });
}
