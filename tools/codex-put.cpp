// codex-put: a CAR stream in, the dataset in the local repository, its
// manifest CID on stdout. Every block is checked; all or nothing. When a
// daemon (codex-gossip run) runs on the repository, the dataset is published
// to the community; --wait returns once every slot is held by its member.
#include <filesystem>

#include "cli/progress.hpp"
#include "cli/slots.hpp"
#include "cli/tool.hpp"
#include "codex/daemon/community_client.hpp"
#include "codex/dataset.hpp"
#include "codex/json.hpp"

using namespace codex;

int main(int argc, char** argv) {
  cli::Tool tool("codex-put", "Store a dataset's CAR stream (as codex-chunk or codex-encode write it) in the repository.");
  CLI::App& app = tool.app();
  std::string input = "-", slots;
  app.add_option("FILE", input, "CAR stream to read ('-' or none: stdin)")->type_name("");
  app.add_option("--slots", slots, "store only these slots of a protected dataset, e.g. 0,2-3")->type_name("LIST");
  bool no_publish = false, wait = false;
  unsigned wait_seconds = 600;
  app.add_flag("--no-publish", no_publish, "do not publish to the community even when a daemon runs");
  app.add_flag("--wait", wait,
               "after publishing, wait until every slot is held by its placed member (needs a running daemon)");
  app.add_option("--wait-timeout", wait_seconds, "give up waiting after SECONDS (default 600; exit 1)")
      ->check(CLI::Range(1u, 86400u))
      ->type_name("SECONDS");
  tool.add_common(cli::kRepo | cli::kJson);

  return tool.run(argc, argv, [&]() -> Status {
    PutOptions options;
    if (tool.app().count("--slots") > 0) {
      CODEX_TRY_ASSIGN(options.slots, cli::parse_slot_list(slots));
    }
    CODEX_TRY_ASSIGN(auto source, open_input(input));
    const std::string dir = cli::resolve_repo(tool.common().repo);
    std::error_code ec;
    const bool existed = std::filesystem::exists(dir + "/codex.db", ec);
    CODEX_TRY_ASSIGN(auto repository, Repository::open(dir));
    if (!existed) tool.info(fmt::format("created a new repository in '{}'", dir));
    cli::ProgressLine progress(tool.name(), tool.common().quiet);
    std::uint64_t received = 0;
    options.on_progress = [&received](std::uint64_t bytes) { received = bytes; };
    cli::CountingSource counted(*source, progress);  // progress in bytes of the stream read
    auto put = put_stream(*repository, counted, options);
    if (!put && put.error().code == Errc::corrupt && received == 0 &&
        put.error().message.find("header") != std::string::npos) {
      // The usual mistake: a file given where its CAR stream was meant.
      return make_error(Errc::corrupt, "'{}' is not a CAR stream ({}); to store a file: codex-chunk FILE | codex-put",
                        input == "-" ? std::string("stdin") : input, put.error().message);
    }
    CODEX_TRY_ASSIGN(PutResult result, std::move(put));
    progress.clear();
    if (tool.common().json) {
      std::printf("%s\n", JsonObject()
                              .add("cid", result.manifest_cid.to_string())
                              .add("protected", result.manifest.is_protected())
                              .add("blocks", result.blocks_received)
                              .add("stored", result.blocks_stored)
                              .add("bytesWritten", result.bytes_written)
                              .add("slots", !result.held_slots ? std::string("all")
                                                : cli::format_slot_list(*result.held_slots))
                              .str()
                              .c_str());
    } else {
      std::printf("%s\n", result.manifest_cid.to_string().c_str());
      tool.verbose(fmt::format("{} blocks received, {} new blocks stored ({} bytes)", result.blocks_received,
                               result.blocks_stored, result.bytes_written));
    }
    std::fflush(stdout);  // the CID first: a script keeps it even when waiting fails
    if (!no_publish && !options.slots) {
      const std::string repo_dir = repository->dir();
      repository.reset();
      CODEX_TRY_ASSIGN(auto published, daemon::publish_through_daemon(repo_dir, result.manifest_cid));
      if (!published) {
        if (wait) return make_error(Errc::not_found, "--wait needs a daemon running on '{}' (codex-gossip run)", repo_dir);
      } else {
        const json::Value* placement = published->find("placement");
        std::size_t placed = placement && placement->kind == json::Kind::array ? placement->array.size() : 0;
        tool.info(fmt::format("published to the community: {} slot(s) placed on {} live member(s)", placed,
                              published->find("live_members") ? published->find("live_members")->magnitude : 0));
        if (wait && result.manifest.is_protected()) {
          CODEX_TRY(daemon::wait_until_placed(repo_dir, result.manifest_cid, std::chrono::seconds(wait_seconds),
                                              [&](std::size_t held, std::size_t total) {
                                                tool.info(fmt::format("{} of {} slots held by their members", held, total));
                                              }));
        }
      }
    }
    return {};
  });
}
