// codex-put: a CAR stream in, the dataset in the local repository, its
// manifest CID on stdout. Every block is checked; all or nothing.
#include "cli/progress.hpp"
#include "cli/slots.hpp"
#include "cli/tool.hpp"
#include "codex/dataset.hpp"
#include "codex/json.hpp"

using namespace codex;

int main(int argc, char** argv) {
  cli::Tool tool("codex-put", "Store a dataset's CAR stream (as codex-chunk or codex-encode write it) in the repository.");
  CLI::App& app = tool.app();
  std::string input = "-", slots;
  app.add_option("FILE", input, "CAR stream to read ('-' or none: stdin)")->type_name("");
  app.add_option("--slots", slots, "store only these slots of a protected dataset, e.g. 0,2-3")->type_name("LIST");
  tool.add_common(cli::kRepo | cli::kJson);

  return tool.run(argc, argv, [&]() -> Status {
    PutOptions options;
    if (tool.app().count("--slots") > 0) {
      CODEX_TRY_ASSIGN(options.slots, cli::parse_slot_list(slots));
    }
    CODEX_TRY_ASSIGN(auto source, open_input(input));
    CODEX_TRY_ASSIGN(auto repository, Repository::open(cli::resolve_repo(tool.common().repo)));
    cli::ProgressLine progress(tool.name(), tool.common().quiet);
    options.on_progress = [&progress](std::uint64_t bytes) { progress.update(bytes); };
    CODEX_TRY_ASSIGN(PutResult result, put_stream(*repository, *source, options));
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
    return {};
  });
}
