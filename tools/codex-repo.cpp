// codex-repo: the repository over its life: list what it holds, remove
// datasets, reclaim dead space, count, and create one explicitly.
#include <sys/stat.h>

#include <ctime>
#include <filesystem>

#include "cli/datasets.hpp"
#include "cli/progress.hpp"
#include "cli/slots.hpp"
#include "cli/tool.hpp"
#include "codex/dataset.hpp"
#include "codex/json.hpp"
#include "codex/repository_admin.hpp"

using namespace codex;

namespace {

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string utc_time(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// The size a user thinks of: the original file's, also for a protected dataset.
std::uint64_t original_size(const Manifest& manifest) {
  return manifest.erasure ? manifest.erasure->original_dataset_size : manifest.dataset_size;
}

std::string slots_text(const DatasetRecord& record) {
  if (!record.manifest.is_protected()) return "-";
  if (!record.held_slots) return "all";
  return cli::format_slot_list(*record.held_slots);
}

}  // namespace

int main(int argc, char** argv) {
  cli::Tool tool("codex-repo", "List, remove, reclaim and count what a repository holds, or create one.");
  CLI::App& app = tool.app();
  app.require_subcommand(1, 1);
  app.fallthrough();
  tool.add_common(cli::kRepo | cli::kJson);

  bool cids_only = false;
  std::vector<std::string> rm_cids;
  CLI::App* ls = app.add_subcommand("ls", "list the datasets: CID, file name, size, K+M, slots held, when stored");
  ls->add_flag("--cids", cids_only, "print only the manifest CIDs, one a line");
  CLI::App* rm = app.add_subcommand("rm", "remove datasets (blocks another dataset uses stay); gc reclaims the space");
  rm->add_option("CID", rm_cids, "manifest CIDs of the datasets to remove")->required()->type_name("");
  CLI::App* gc = app.add_subcommand("gc", "reclaim dead space: removed datasets' blocks, duplicate and replaced copies");
  CLI::App* stats = app.add_subcommand("stats", "count datasets, blocks, bytes stored, dead bytes and packs");
  CLI::App* init = app.add_subcommand("init", "create an empty repository (other tools create one on first put)");

  return tool.run(argc, argv, [&]() -> Status {
    const std::string dir = cli::resolve_repo(tool.common().repo);
    const bool json = tool.common().json;

    if (init->parsed()) {
      std::error_code ec;
      const bool existed = std::filesystem::exists(dir + "/codex.db", ec);
      CODEX_TRY_ASSIGN(auto repository, Repository::open(dir, Repository::OpenMode::create));
      if (json) std::printf("%s\n", JsonObject().add("repo", dir).add("created", !existed).str().c_str());
      else tool.info(existed ? fmt::format("repository '{}' already exists; nothing changed", dir)
                             : fmt::format("created an empty repository in '{}'", dir));
      return {};
    }

    if (ls->parsed()) {
      CODEX_TRY_ASSIGN(auto repository, Repository::open(dir, Repository::OpenMode::existing));
      CODEX_TRY_ASSIGN(std::vector<DatasetRecord> records, repository->datasets());
      if (!json && !cids_only && !records.empty())
        std::printf("%-54s %10s %6s %-9s %-20s %s\n", "CID", "SIZE", "K+M", "SLOTS", "STORED", "FILENAME");
      for (const auto& record : records) {
        const Manifest& m = record.manifest;
        const std::string km = m.erasure ? fmt::format("{}+{}", m.erasure->k, m.erasure->m) : "-";
        if (cids_only) {
          std::printf("%s\n", record.manifest_cid.to_string().c_str());
        } else if (json) {
          JsonObject line;
          line.add("cid", record.manifest_cid.to_string())
              .add("filename", m.filename.value_or(""))
              .add("size", original_size(m))
              .add("protected", m.is_protected());
          if (m.erasure) line.add("k", m.erasure->k).add("m", m.erasure->m).add("slots", slots_text(record));
          line.add("stored", utc_time(record.added_at));
          std::printf("%s\n", line.str().c_str());
        } else {
          std::printf("%-54s %10s %6s %-9s %-20s %s\n", record.manifest_cid.to_string().c_str(),
                      human_bytes(original_size(m)).c_str(), km.c_str(), slots_text(record).c_str(),
                      utc_time(record.added_at).c_str(), m.filename.value_or("-").c_str());
        }
      }
      return {};
    }

    if (rm->parsed()) {
      std::vector<Cid> cids;
      for (const auto& text : rm_cids) {
        CODEX_TRY_ASSIGN(Cid cid, cli::parse_cid_argument(text));
        cids.push_back(cid);
      }
      CODEX_TRY_ASSIGN(auto admin, RepositoryAdmin::open(dir));
      Status first_error;
      for (const Cid& cid : cids) {
        Status removed = admin->remove_dataset(cid);
        if (json)
          std::printf("%s\n", JsonObject().add("cid", cid.to_string()).add("removed", removed.ok()).str().c_str());
        if (removed.ok()) {
          tool.verbose(fmt::format("removed {}", cid.to_string()));
        } else if (first_error.ok()) {
          first_error = std::move(removed);
        } else {
          tool.warn(removed.error().message);
        }
      }
      if (first_error.ok() && !json) tool.info("run 'codex-repo gc' to reclaim the space no other dataset uses");
      return first_error;
    }

    if (gc->parsed()) {
      CODEX_TRY_ASSIGN(auto admin, RepositoryAdmin::open(dir));
      cli::ProgressLine progress(tool.name(), tool.common().quiet);
      GcOptions options;
      options.on_wait = [&tool]() { tool.info("waiting for a put, a repair or a daemon's fetch in progress to finish"); };
      options.on_progress = [&progress](std::uint64_t bytes) { progress.update(bytes); };
      CODEX_TRY_ASSIGN(GcReport report, admin->gc(options));
      progress.clear();
      if (json) {
        std::printf("%s\n", JsonObject()
                                .add("bytesReclaimed", report.bytes_reclaimed)
                                .add("unreferencedBlocks", report.unreferenced_blocks)
                                .add("unreferencedBytes", report.unreferenced_bytes)
                                .add("packsCompacted", report.packs_compacted)
                                .add("packsBusy", report.packs_busy)
                                .add("blocksMoved", report.blocks_moved)
                                .add("bytesMoved", report.bytes_moved)
                                .str()
                                .c_str());
      } else {
        std::printf("reclaimed %s (%llu bytes)\n", human_bytes(report.bytes_reclaimed).c_str(),
                    static_cast<unsigned long long>(report.bytes_reclaimed));
        tool.verbose(fmt::format("{} unreferenced blocks dropped ({} bytes); {} packs compacted, {} blocks ({} bytes) moved",
                                 report.unreferenced_blocks, report.unreferenced_bytes, report.packs_compacted,
                                 report.blocks_moved, report.bytes_moved));
      }
      if (report.packs_busy > 0)
        tool.warn(fmt::format("{} pack(s) in use by a running put were left for the next gc", report.packs_busy));
      return {};
    }

    // stats
    CODEX_TRY_ASSIGN(auto admin, RepositoryAdmin::open(dir, /*read_only=*/true));
    CODEX_TRY_ASSIGN(RepositoryStats s, admin->stats());
    if (json) {
      std::printf("%s\n", JsonObject()
                              .add("datasets", s.datasets)
                              .add("protectedDatasets", s.protected_datasets)
                              .add("blocks", s.blocks)
                              .add("liveBlocks", s.live_blocks)
                              .add("packs", s.packs)
                              .add("storedBytes", s.stored_bytes)
                              .add("liveBytes", s.live_bytes)
                              .add("deadBytes", s.dead_bytes)
                              .str()
                              .c_str());
    } else {
      std::printf("datasets:     %llu (%llu protected)\n", (unsigned long long)s.datasets,
                  (unsigned long long)s.protected_datasets);
      std::printf("blocks:       %llu (%llu in use)\n", (unsigned long long)s.blocks, (unsigned long long)s.live_blocks);
      std::printf("packs:        %llu\n", (unsigned long long)s.packs);
      std::printf("bytes stored: %s (%llu)\n", human_bytes(s.stored_bytes).c_str(), (unsigned long long)s.stored_bytes);
      std::printf("bytes in use: %s (%llu)\n", human_bytes(s.live_bytes).c_str(), (unsigned long long)s.live_bytes);
      std::printf("dead bytes:   %s (%llu; 'codex-repo gc' reclaims them)\n", human_bytes(s.dead_bytes).c_str(),
                  (unsigned long long)s.dead_bytes);
    }
    (void)stats;
    return {};
  });
}
