// codex-get: a manifest CID in, the dataset's original bytes out, every block
// checked against its CID and, for protected datasets, decoded around missing
// or corrupt blocks.
#include "cli/datasets.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "cli/tool.hpp"
#include "codex/daemon/block_stream.hpp"
#include "codex/daemon/client.hpp"
#include "codex/daemon/node_files.hpp"
#include "codex/dataset.hpp"
#include "codex/json.hpp"

using namespace codex;

// The --json report of a get: what was written and which blocks were rebuilt.
static JsonObject get_report(const Cid& cid, const GetResult& result) {
  std::string rebuilt = "[";
  for (const auto& block : result.rebuilt)
    rebuilt += (rebuilt.size() > 1 ? "," : "") + JsonObject().add("index", block.index).add("reason", block.reason).str();
  rebuilt += "]";
  JsonObject report;
  report.add("cid", cid.to_string())
      .add("bytes", result.bytes)
      .add("protected", result.manifest.is_protected())
      .add_raw("rebuilt", rebuilt);
  return report;
}

int main(int argc, char** argv) {
  cli::Tool tool("codex-get", "Write a stored dataset's original bytes, rebuilding missing or corrupt blocks where it can.");
  CLI::App& app = tool.app();
  std::string cid_text, output;
  bool manifest_only = false, car = false, store = false;
  app.add_option("CID", cid_text, "manifest CID of the dataset")->required()->type_name("");
  app.add_option("-o,--output", output, "write to FILE (a regular file is replaced atomically) instead of stdout")->type_name("FILE");
  auto* manifest_flag = app.add_flag("--manifest", manifest_only, "print the manifest as JSON instead of the data");
  app.add_flag("--car", car, "write the held blocks and manifest as a CAR stream (for codex-put elsewhere)")
      ->excludes(manifest_flag);
  app.add_flag("--store", store,
               "with a running daemon, first fetch what the repository lacks into it (verified and kept), then read "
               "locally; without it, blocks from members stream to the output and are not kept");
  tool.add_common(cli::kRepo | cli::kJson | cli::kSync);

  return tool.run(argc, argv, [&]() -> Status {
    CODEX_TRY_ASSIGN(auto cid, cli::parse_cid_argument(cid_text));
    const std::string repo_dir = cli::resolve_repo(tool.common().repo);
    CODEX_TRY_ASSIGN(auto repository, Repository::open(repo_dir, Repository::OpenMode::existing));
    // What the repository lacks comes from members, through the local daemon
    // when one runs: streamed to the output as a block source (every block
    // verified by the daemon and again here, nothing kept), or with --store
    // (and --car) fetched into the repository first. Without a daemon, the
    // repository alone, as always.
    CODEX_TRY_ASSIGN(bool incomplete, daemon::dataset_incomplete(*repository, cid));
    bool from_members = false;
    if (incomplete && (store || car)) {
      CODEX_TRY_ASSIGN(auto fetched, daemon::fetch_through_daemon(repo_dir, cid));
      if (fetched)
        tool.verbose(fmt::format("from members: {} blocks fetched, {} already here, {} on no reachable member",
                                 fetched->fetched, fetched->already_held, fetched->missing));
    } else if (incomplete && cid.codec() == codec::manifest) {
      CODEX_TRY_ASSIGN(auto members, daemon::prepare_through_daemon(repo_dir, cid));
      from_members = members.has_value();
    }
    if (from_members) {
      CODEX_TRY_ASSIGN(DatasetRecord record, daemon::dataset_record(*repository, cid));
      CODEX_TRY_ASSIGN(auto out, cli::OutputFile::open(output, tool.common().sync));
      if (manifest_only) {
        CODEX_TRY(out.sink().write(as_bytes(manifest_to_json(record.manifest, record.manifest_cid) + "\n")));
        return out.commit();
      }
      CODEX_TRY_ASSIGN(std::vector<Digest> leaves, repository->tree_leaves(record.manifest.tree));
      // Read ahead from members only what the repository lacks.
      std::vector<Digest> plan = get_read_order(record.manifest, leaves, out.sink().can_write_at());
      {
        std::vector<std::optional<BlockLocation>> here(plan.size());
        CODEX_TRY(repository->locate_blocks(plan, here));
        std::size_t kept = 0;
        for (std::size_t i = 0; i < plan.size(); ++i)
          if (!here[i] && plan[i] != empty_digest()) plan[kept++] = plan[i];
        plan.resize(kept);
      }
      cli::ProgressLine progress(tool.name(), tool.common().quiet);
      std::size_t notes = 0;
      CODEX_TRY_ASSIGN(auto members,
                       daemon::DaemonBlockSource::open(daemon::NodePaths{repo_dir}.control_socket(), std::move(plan),
                                                       [&](const std::string& note) {
                                                         progress.clear();
                                                         ++notes;
                                                         tool.warn(note);
                                                       }));
      auto local = repository_source(*repository);
      auto source = chained_source({local.get(), members.get()});
      GetOptions options;
      options.on_progress = [&progress](std::uint64_t bytes) { progress.update(bytes); };
      options.on_rebuilt = [&tool, &progress](const RebuiltBlock& block) {
        progress.clear();
        tool.verbose(fmt::format("rebuilt block {} ({})", block.index, block.reason));
      };
      CODEX_TRY_ASSIGN(GetResult result, get_dataset(record, leaves, *source, repository->dir(), out.sink(), options));
      CODEX_TRY(out.commit());
      progress.clear();
      tool.verbose(fmt::format("from {} member(s) through the daemon: {} blocks{}", members->members(),
                               members->blocks_received(), notes ? fmt::format(", {} member(s) dropped", notes) : ""));
      if (!result.rebuilt.empty() && !tool.common().quiet)
        tool.warn(fmt::format("{} block(s) no member gave were rebuilt from parity", result.rebuilt.size()));
      if (tool.common().json) {
        JsonObject report = get_report(cid, result);
        report.add("from_members", members->blocks_received());
        std::fprintf(out.is_stdout() ? stderr : stdout, "%s\n", report.str().c_str());
      }
      return {};
    }
    if (manifest_only) {
      CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(*repository, cid));
      CODEX_TRY_ASSIGN(auto out, cli::OutputFile::open(output, tool.common().sync));
      CODEX_TRY(out.sink().write(as_bytes(manifest_to_json(record.manifest, record.manifest_cid) + "\n")));
      return out.commit();
    }
    if (car) {
      if ((output.empty() || output == "-") && cli::stdout_is_terminal())
        return make_error(Errc::usage, "refusing to write a binary CAR stream to a terminal; redirect stdout or use -o FILE");
      CODEX_TRY_ASSIGN(auto out, cli::OutputFile::open(output, tool.common().sync));
      CarWriter writer(out.sink());
      CODEX_TRY(export_dataset(*repository, *repository_source(*repository), cid, writer));
      return out.commit();
    }
    CODEX_TRY_ASSIGN(auto out, cli::OutputFile::open(output, tool.common().sync));
    cli::ProgressLine progress(tool.name(), tool.common().quiet);
    GetOptions options;
    options.on_progress = [&progress](std::uint64_t bytes) { progress.update(bytes); };
    options.on_rebuilt = [&tool, &progress](const RebuiltBlock& block) {
      progress.clear();
      tool.verbose(fmt::format("rebuilt block {} ({})", block.index, block.reason));
    };
    CODEX_TRY_ASSIGN(GetResult result, get_dataset(*repository, *repository_source(*repository), cid, out.sink(), options));
    CODEX_TRY(out.commit());
    progress.clear();
    // The bytes are right, but the stored copy is damaged: say so, once.
    if (!result.rebuilt.empty() && !tool.common().quiet)
      tool.warn(fmt::format("{} damaged or missing block(s) were rebuilt from parity while reading; the stored dataset "
                            "needs 'codex-repair {}'",
                            result.rebuilt.size(), cid.to_string()));
    if (tool.common().json)  // stdout carries the data unless -o was given
      std::fprintf(out.is_stdout() ? stderr : stdout, "%s\n", get_report(cid, result).str().c_str());
    return {};
  });
}
