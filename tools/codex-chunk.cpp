// codex-chunk: a file or stdin in, Codex blocks and manifest out as a CARv1
// stream. The manifest CID is the one a Logos Storage node gives the same file.
#include <filesystem>

#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "cli/tool.hpp"
#include "codex/dataset.hpp"
#include "codex/json.hpp"

using namespace codex;

int main(int argc, char** argv) {
  cli::Tool tool("codex-chunk", "Cut a file (or stdin) into Codex blocks and write them, with their manifest, as a CARv1 stream.");
  CLI::App& app = tool.app();
  std::string input = "-", output, filename, mimetype, format = "current";
  std::uint64_t block_size = kDefaultBlockSize;
  bool cid_only = false;
  app.add_option("FILE", input, "file to chunk ('-' or none: stdin)")->type_name("");
  app.add_option("-o,--output", output, "write the CAR stream to FILE (a regular file is replaced atomically) instead of stdout")->type_name("FILE");
  app.add_option("--block-size", block_size, "block size in bytes (default 65536)")->type_name("N");
  app.add_option("--filename", filename, "filename recorded in the manifest (default: FILE's name)")->type_name("NAME");
  app.add_option("--mimetype", mimetype, "mimetype recorded in the manifest (default: from the filename's extension)")
      ->type_name("TYPE");
  cli::complete_with_choices(
      app.add_option("--manifest-format", format, "manifest layout: current (Logos Storage) or legacy (early 2026)")
          ->check(CLI::IsMember({"current", "legacy"}))
          ->type_name("FORMAT"),
      {"current", "legacy"});
  app.add_flag("--cid-only", cid_only, "print only the manifest CID on stdout; write no blocks");
  tool.add_common(cli::kJson | cli::kSync);

  return tool.run(argc, argv, [&]() -> Status {
    ChunkOptions options;
    options.block_size = block_size;
    options.format = format == "legacy" ? ManifestFormat::legacy : ManifestFormat::current;
    if (!filename.empty()) options.filename = filename;
    else if (input != "-") options.filename = std::filesystem::path(input).filename().string();
    if (!mimetype.empty()) options.mimetype = mimetype;
    else if (options.filename) options.mimetype = mimetype_for_filename(*options.filename);

    const bool car_on_stdout = !cid_only && (output.empty() || output == "-");
    if (car_on_stdout && cli::stdout_is_terminal())
      return make_error(Errc::usage, "refusing to write a binary CAR stream to a terminal; redirect stdout or use -o FILE");
    CODEX_TRY_ASSIGN(auto source, open_input(input));
    std::optional<cli::OutputFile> out;
    std::optional<CarWriter> writer;
    if (!cid_only) {
      CODEX_TRY_ASSIGN(auto opened, cli::OutputFile::open(output, tool.common().sync));
      out.emplace(std::move(opened));
      writer.emplace(out->sink());
    }
    // A regular file gets the manifest CID as its CAR root, patched in at the end.
    options.root_placeholder = out && out->seekable();
    cli::ProgressLine progress(tool.name(), tool.common().quiet);
    options.on_progress = [&progress](std::uint64_t bytes) { progress.update(bytes); };
    CODEX_TRY_ASSIGN(ChunkResult result, chunk_stream(*source, writer ? &*writer : nullptr, options));
    if (options.root_placeholder) {
      const Cid roots[] = {result.manifest_cid};
      CODEX_TRY(out->patch(0, encode_car_header_with_length(roots)));
    }
    if (out) CODEX_TRY(out->commit());
    tool.verbose(fmt::format("{} bytes in {} blocks of {}; tree {}", result.manifest.dataset_size, result.blocks,
                             result.manifest.block_size, result.manifest.tree.to_string()));

    progress.clear();
    std::string report = result.manifest_cid.to_string();
    if (tool.common().json)
      report = JsonObject()
                   .add("cid", result.manifest_cid.to_string())
                   .add("treeCid", result.manifest.tree.to_string())
                   .add("blocks", result.blocks)
                   .add("blockSize", result.manifest.block_size)
                   .add("datasetSize", result.manifest.dataset_size)
                   .add("format", manifest_format_name(result.manifest.format))
                   .str();
    if (!car_on_stdout) std::printf("%s\n", report.c_str());
    else if (!tool.common().quiet) std::fprintf(stderr, "%s%s\n", cli::stderr_line_start(), report.c_str());
    return {};
  });
}
