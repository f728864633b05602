// codex-verify: check what the repository holds (every block, or a sample),
// and make and check storage proofs of held slots.
#include <charconv>
#include <random>

#include "cli/output.hpp"
#include "cli/datasets.hpp"
#include "cli/tool.hpp"
#include "codex/audit.hpp"
#include "codex/dataset.hpp"
#include "codex/health.hpp"
#include "codex/json.hpp"

using namespace codex;

namespace {

std::string slot_json(const SlotHealth& s) {
  return JsonObject()
      .add("slot", s.slot)
      .add("held", s.held)
      .add("blocks", s.blocks)
      .add("checked", s.checked)
      .add("intact", s.intact)
      .add("missing", s.missing)
      .add("corrupt", s.corrupt)
      .add("state", s.held ? dataset_state_name(s.state) : "not-held")
      .str();
}

std::string health_json(const DatasetHealth& h) {
  std::string slots = "[", groups = "[";
  for (const auto& s : h.slots) slots += (slots.size() > 1 ? "," : "") + slot_json(s);
  for (auto g : h.unrecoverable_groups) groups += (groups.size() > 1 ? "," : "") + std::to_string(g);
  return JsonObject()
      .add("cid", h.cid.to_string())
      .add("protected", h.manifest.is_protected())
      .add("state", dataset_state_name(h.state))
      .add("blocks", h.blocks)
      .add("checked", h.checked)
      .add("intact", h.intact)
      .add("missing", h.missing)
      .add("corrupt", h.corrupt)
      .add_raw("unrecoverableGroups", groups + "]")
      .add_raw("slots", slots + "]")
      .str();
}

void print_table(const std::vector<DatasetHealth>& all) {
  std::printf("%-54s %5s %5s %8s %8s %8s %8s  %s\n", "DATASET", "SLOT", "HELD", "BLOCKS", "CHECKED", "MISSING",
              "CORRUPT", "STATE");
  for (const auto& h : all) {
    std::printf("%-54s %5s %5s %8llu %8llu %8llu %8llu  %s\n", h.cid.to_string().c_str(), "all", "",
                (unsigned long long)h.blocks, (unsigned long long)h.checked, (unsigned long long)h.missing,
                (unsigned long long)h.corrupt, dataset_state_name(h.state));
    for (const auto& s : h.slots)
      std::printf("%-54s %5u %5s %8llu %8llu %8llu %8llu  %s\n", "", s.slot, s.held ? "yes" : "no",
                  (unsigned long long)s.blocks, (unsigned long long)s.checked, (unsigned long long)s.missing,
                  (unsigned long long)s.corrupt,
                  s.held ? dataset_state_name(s.state) : "-");
  }
}

Result<CheckOptions> parse_sample(const std::string& text) {
  CheckOptions options;
  if (text.empty()) return options;
  // Digits only (no sign, no blanks): a count, or a percentage with '%'.
  const bool percent = text.back() == '%';
  const std::string_view number(text.data(), text.size() - (percent ? 1 : 0));
  const char* end = number.data() + number.size();
  bool ok = !number.empty() && (number.front() >= '0' && number.front() <= '9');
  if (ok && percent) {
    double value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), end, value);
    ok = ec == std::errc() && ptr == end && value > 0 && value <= 100;
    options.sample_fraction = value / 100;
  } else if (ok) {
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), end, value);
    ok = ec == std::errc() && ptr == end && value > 0;
    options.sample_count = value;
  }
  if (!ok) return make_error(Errc::usage, "bad --sample '{}': give a block count (e.g. 100) or a percentage (e.g. 5%)", text);
  return options;
}

Result<Bytes> parse_challenge(const std::string& text) {
  auto bytes = from_hex(text);
  if (!bytes || bytes->size() != kChallengeSize)
    return make_error(Errc::usage, "bad --challenge '{}': give {} bytes as {} hex digits", text, kChallengeSize,
                      2 * kChallengeSize);
  return std::move(*bytes);
}

}  // namespace

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
        std::mt19937_64 rng(seed ? seed : std::random_device{}());
        for (auto& b : challenge_bytes) b = static_cast<std::uint8_t>(rng());
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
      Bytes text;
      Bytes chunk(1 << 16);
      for (;;) {
        CODEX_TRY_ASSIGN(std::size_t n, source->read_some(chunk));
        if (n == 0) break;
        text.insert(text.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        if (text.size() > kMaxProofJsonSize) return make_error(Errc::corrupt, "proof '{}' is too large", check);
      }
      auto proof = proof_from_json(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
      if (!proof) return make_error(Errc::corrupt, "proof '{}' is malformed: {}", check, proof.error().message);
      ProofExpectations expect;
      if (!challenge.empty()) {
        CODEX_TRY_ASSIGN(expect.challenge, parse_challenge(challenge));
      }
      if (slot_given) expect.slot = slot;
      expect.samples = app.count("--proof-cells") ? std::optional<std::uint32_t>(samples) : std::nullopt;
      Status checked = check_proof(*repository, *proof, expect);
      if (tool.common().json) {
        JsonObject report;
        report.add("manifest", proof->manifest.to_string()).add("slot", proof->slot).add("valid", checked.ok());
        if (!checked.ok()) report.add("reason", checked.error().message);
        std::printf("%s\n", report.str().c_str());
      } else if (checked.ok()) {
        tool.info(fmt::format("proof for slot {} of {} is valid", proof->slot, proof->manifest.to_string()));
      }
      return checked;
    }

    CODEX_TRY_ASSIGN(CheckOptions options, parse_sample(sample));
    options.seed = seed;
    CODEX_TRY_ASSIGN(std::vector<DatasetRecord> records, cli::select_datasets(*repository, cids));
    auto blocks = repository_source(*repository);
    std::vector<DatasetHealth> all;
    DatasetState worst = DatasetState::intact;
    for (const auto& record : records) {
      CODEX_TRY_ASSIGN(DatasetHealth health, check_dataset(*repository, *blocks, record, options));
      if (static_cast<int>(health.state) > static_cast<int>(worst)) worst = health.state;
      if (tool.common().json) std::printf("%s\n", health_json(health).c_str());
      all.push_back(std::move(health));
    }
    // -q (cron): nothing at all on a healthy day, the table when something is wrong.
    if (!tool.common().json && !(tool.common().quiet && worst == DatasetState::intact)) print_table(all);
    if (worst == DatasetState::damaged) return Error{Errc::damaged, ""};
    if (worst == DatasetState::unrecoverable) return Error{Errc::unrecoverable, ""};
    return {};
  });
}
