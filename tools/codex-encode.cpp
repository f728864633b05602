// codex-encode: a plain dataset in (a CAR stream, or a CID in the
// repository), the erasure-coded (protected) dataset out as a CAR stream.
#include "cli/datasets.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "cli/tool.hpp"
#include "codex/encode.hpp"
#include "codex/erasure.hpp"
#include "codex/json.hpp"

using namespace codex;

int main(int argc, char** argv) {
  cli::Tool tool("codex-encode", "Erasure-code a plain dataset into K data + M parity slots and write the protected dataset as a CAR stream.");
  CLI::App& app = tool.app();
  std::string input = "-", output, backend, cid_text;
  std::uint32_t k = 0, m = 0;
  app.add_option("FILE", input, "CAR stream of a plain dataset ('-' or none: stdin)")->type_name("");
  app.add_option("-k,--data-slots", k, "K: data slots (blocks per EC group that carry data)")->required()->type_name("K");
  app.add_option("-m,--parity-slots", m, "M: parity slots (how many slots may be lost)")->required()->type_name("M");
  cli::complete_with_command(
      app.add_option("--backend", backend, "liberasurecode backend (default isa_l_rs_cauchy, else jerasure_rs_vand, else liberasurecode_rs_vand; see --list-backends)")
          ->type_name("NAME"),
      "codex-encode --list-backends");
  app.add_option("--cid", cid_text, "encode the plain dataset CID held in the repository instead of reading a stream")
      ->type_name("CID");
  app.add_option("-o,--output", output, "write the CAR stream to FILE (a regular file is replaced atomically) instead of stdout")->type_name("FILE");
  app.add_flag_callback("--list-backends", [] {
    for (const auto& name : available_backends()) std::printf("%s\n", name.c_str());
    throw CLI::Success();
  }, "print the backends available on this machine and exit");
  tool.add_common(cli::kRepo | cli::kJson | cli::kSync);
  app.get_option("--repo")->description("repository directory, for --cid and for the temporary spill files (default $CODEX_REPO, else $XDG_DATA_HOME/codex, else ~/.local/share/codex)");

  return tool.run(argc, argv, [&]() -> Status {
    EncodeOptions options;
    options.k = k;
    options.m = m;
    options.backend = backend;
    options.spill_dir = cli::resolve_repo(tool.common().repo);
    if ((output.empty() || output == "-") && cli::stdout_is_terminal())
      return make_error(Errc::usage, "refusing to write a binary CAR stream to a terminal; redirect stdout or use -o FILE");
    CODEX_TRY_ASSIGN(auto out, cli::OutputFile::open(output, tool.common().sync));
    CarWriter writer(out.sink());
    options.root_placeholder = out.seekable();  // a regular file gets its root patched in
    Result<EncodeResult> encoded = make_error(Errc::failure, "nothing encoded");
    if (!cid_text.empty()) {
      CODEX_TRY_ASSIGN(auto cid, cli::parse_cid_argument(cid_text));
      CODEX_TRY_ASSIGN(auto repository, Repository::open(options.spill_dir, Repository::OpenMode::existing));
      auto blocks = repository_source(*repository);
      encoded = encode_stored(*repository, *blocks, cid, writer, options);
    } else {
      CODEX_TRY_ASSIGN(auto source, open_input(input));
      encoded = encode_stream(*source, writer, options);
    }
    CODEX_TRY(encoded);
    if (options.root_placeholder) {
      const Cid roots[] = {encoded->manifest_cid};
      CODEX_TRY(out.patch(0, encode_car_header_with_length(roots)));
    }
    CODEX_TRY(out.commit());
    const EncodeResult& result = *encoded;
    tool.verbose(fmt::format("{} data blocks, K={} M={}: {} EC groups, {} blocks per slot, {} blocks in all ({})",
                             result.layout.blocks, result.layout.k, result.layout.m, result.layout.steps,
                             result.layout.steps, result.layout.total, result.manifest.erasure->backend));
    std::string report = result.manifest_cid.to_string();
    if (tool.common().json)
      report = JsonObject()
                   .add("cid", result.manifest_cid.to_string())
                   .add("originalCid", result.original_cid.to_string())
                   .add("k", result.layout.k)
                   .add("m", result.layout.m)
                   .add("backend", result.manifest.erasure->backend)
                   .add("blocks", result.layout.blocks)
                   .add("steps", result.layout.steps)
                   .add("totalBlocks", result.layout.total)
                   .str();
    if (!out.is_stdout()) std::printf("%s\n", report.c_str());
    else if (!tool.common().quiet) std::fprintf(stderr, "%s%s\n", cli::stderr_line_start(), report.c_str());
    return {};
  });
}
