// codex-verify: check what the repository holds (every block, or a sample),
// and make and check storage proofs of held slots. Options and flow only: the
// reports, the proof files and the outcome come from libcore (health.hpp,
// audit.hpp).
#include "cli/output.hpp"
#include "cli/datasets.hpp"
#include "cli/tool.hpp"
#include "codex/audit.hpp"
#include "codex/dataset.hpp"
#include "codex/health.hpp"
#include "codex/json.hpp"
#include "codex/random.hpp"

using namespace codex;

int main(int argc, char** argv) {
  cli::Tool tool("codex-verify", "Check the blocks the repository holds, and make or check storage proofs of held slots.");
  CLI::App& app = tool.app();
  std::vector<std::string> cids;
  std::string sample, prove, challenge, check, output;
  std::uint32_t slot = 0, samples = kDefaultProofSamples;
  std::uint64_t seed = 0;
  app.add_option("CID", cids, "datasets to check (none: every dataset in the repository)")->type_name("");
  app.add_option("--sample", sample, "hash only N held blocks, or P% of them, chosen at random")->type_name("N|P%");
  app.add_option("--seed", seed, "seed for --sample and random challenges (default or 0: random)")->type_name("N");
  app.add_option("--prove", prove, "make a storage proof for slot --slot of this protected dataset")->type_name("CID");
  app.add_option("--slot", slot, "the slot to prove (with --prove), or that a checked proof must be for")->type_name("S");
  app.add_option("--challenge", challenge, "32-byte challenge as 64 hex digits (--prove: default random)")->type_name("HEX");
  app.add_option("--proof-cells", samples, "cells sampled per proof (default 4)")->type_name("N");
  app.add_option("--check-proof", check, "check the storage proof in FILE ('-': stdin) against the held manifest")
      ->type_name("FILE");
  app.add_option("-o,--output", output, "with --prove: write the proof to FILE (a regular file is replaced atomically) instead of stdout")->type_name("FILE");
  tool.add_common(cli::kRepo | cli::kJson | cli::kSync);

  return tool.run(argc, argv, [&]() -> Status {
    CODEX_TRY_ASSIGN(auto repository, Repository::open(cli::resolve_repo(tool.common().repo), Repository::OpenMode::existing));
    const bool slot_given = app.count("--slot") > 0;
    if (!prove.empty() && !check.empty()) return make_error(Errc::usage, "--prove and --check-proof go alone");

    if (!prove.empty()) {
      CODEX_TRY_ASSIGN(auto cid, cli::parse_cid_argument(prove));
      if (!slot_given) return make_error(Errc::usage, "--prove needs --slot S");
      Bytes challenge_bytes(kChallengeSize);
      if (!challenge.empty()) {
        CODEX_TRY_ASSIGN(challenge_bytes, parse_challenge(challenge));
      } else {
        // Unpredictable unless a seed is asked for (to repeat a run): the
        // OS's CSPRNG, never a generator a prover could guess.
        SeededRandom seeded(seed);
        Random& random = seed ? static_cast<Random&>(seeded) : system_random();
        CODEX_TRY(random.fill(challenge_bytes));
      }
      CODEX_TRY_ASSIGN(StorageProof proof, prove_slot(*repository, *repository_source(*repository), cid, slot, challenge_bytes, samples));
      CODEX_TRY_ASSIGN(auto out, cli::OutputFile::open(output, tool.common().sync));
      std::string text = proof_to_json(proof) + "\n";
      CODEX_TRY(out.sink().write(as_bytes(text)));
      CODEX_TRY(out.commit());
      tool.verbose(fmt::format("proved slot {} of {} with {} cells", slot, cid.to_string(), proof.cells.size()));
      return {};
    }

    if (!check.empty()) {
      CODEX_TRY_ASSIGN(auto source, open_input(check));
      CODEX_TRY_ASSIGN(StorageProof proof, read_proof(*source));
      ProofExpectations expect;
      if (!challenge.empty()) {
        CODEX_TRY_ASSIGN(expect.challenge, parse_challenge(challenge));
      }
      if (slot_given) expect.slot = slot;
      expect.samples = app.count("--proof-cells") ? std::optional<std::uint32_t>(samples) : std::nullopt;
      Status checked = check_proof(*repository, proof, expect);
      if (tool.common().json) std::printf("%s\n", proof_check_json(proof, checked).c_str());
      else if (checked.ok())
        tool.info(fmt::format("proof for slot {} of {} is valid", proof.slot, proof.manifest.to_string()));
      return checked;
    }

    CODEX_TRY_ASSIGN(CheckOptions options, parse_sample(sample));
    options.seed = seed;
    CODEX_TRY_ASSIGN(std::vector<DatasetRecord> records, cli::select_datasets(*repository, cids));
    auto blocks = repository_source(*repository);
    std::vector<DatasetHealth> all;
    for (const auto& record : records) {
      CODEX_TRY_ASSIGN(DatasetHealth health, check_dataset(*repository, *blocks, record, options));
      if (tool.common().json) std::printf("%s\n", health_json(health).c_str());
      all.push_back(std::move(health));
    }
    // -q (cron): nothing at all on a healthy day, the table when something is wrong.
    Status outcome = check_outcome(all);
    if (!tool.common().json && !(tool.common().quiet && outcome.ok())) std::fputs(health_table(all).c_str(), stdout);
    return outcome;
  });
}
