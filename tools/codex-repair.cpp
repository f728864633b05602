// codex-repair: rebuild the missing or corrupt blocks of the slots this node
// holds, from what it holds. Meant for cron: the exit code says what happened
// (0 nothing to do, 8 repaired, 7 could not repair; with --dry-run 6 when
// there is work to do), --json says what was done.
#include "cli/datasets.hpp"
#include "cli/tool.hpp"
#include "codex/block_source.hpp"
#include "codex/dataset.hpp"
#include "codex/health.hpp"
#include "codex/json.hpp"

using namespace codex;

int main(int argc, char** argv) {
  cli::Tool tool("codex-repair", "Rebuild missing or corrupt blocks of the datasets and slots this repository holds.");
  CLI::App& app = tool.app();
  std::vector<std::string> cids;
  bool dry_run = false;
  app.add_option("CID", cids, "datasets to repair (none: every dataset in the repository)")->type_name("");
  app.add_flag("-n,--dry-run", dry_run, "print the plan; change nothing");
  tool.add_common(cli::kRepo | cli::kJson);

  return tool.run(argc, argv, [&]() -> Status {
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
