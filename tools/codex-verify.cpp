// codex-verify: check what the repository holds (every block, or a sample),
// and make and check storage proofs of held slots. Options and flow only: the
// reports, the proof files and the outcome come from libcore (health.hpp,
// audit.hpp). With --community, the community's view of each protected
// dataset (from the running daemon) beside what the repository holds.
#include "cli/output.hpp"
#include "cli/datasets.hpp"
#include "cli/tool.hpp"
#include "codex/audit.hpp"
#include "codex/daemon/community_client.hpp"
#include "codex/dataset.hpp"
#include "codex/health.hpp"
#include "codex/json.hpp"
#include "codex/random.hpp"

using namespace codex;

namespace {

// The community's word on one slot (codex-gossip dataset's JSON), or null.
const json::Value* community_slot(const std::optional<json::Value>& view, std::uint32_t slot) {
  if (!view) return nullptr;
  const json::Value* slots = view->find("slots");
  if (!slots || slots->kind != json::Kind::array || slot >= slots->array.size()) return nullptr;
  return &slots->array[slot];
}

std::string field_text(const json::Value* v, const char* name) {
  const json::Value* f = v ? v->find(name) : nullptr;
  if (!f || f->kind == json::Kind::null) return "-";
  if (f->kind == json::Kind::string) return f->string;
  if (f->kind == json::Kind::integer) return std::to_string(f->magnitude);
  return "-";
}

// health_json's line with the community's view of the dataset added:
// "community": {"complete", "slots": [{"slot", "state", "holder", "heartbeatMsAgo"}]}.
std::string with_community(const DatasetHealth& health, const std::optional<json::Value>& view) {
  std::string line = health_json(health);
  if (!view || line.empty() || line.back() != '}') return line;
  std::string slots = "[";
  if (const json::Value* list = view->find("slots"); list && list->kind == json::Kind::array)
    for (const auto& c : list->array) {
      JsonObject o;
      const json::Value* n = c.find("slot");
      o.add("slot", static_cast<std::uint64_t>(n && n->kind == json::Kind::integer ? n->magnitude : 0));
      o.add("state", field_text(&c, "state"));
      if (const json::Value* h = c.find("holder"); h && h->kind == json::Kind::string) o.add("holder", h->string);
      else o.add_null("holder");
      if (const json::Value* t = c.find("heartbeat_ms_ago"); t && t->kind == json::Kind::integer) o.add("heartbeatMsAgo", t->magnitude);
      else o.add_null("heartbeatMsAgo");
      slots += (slots.size() > 1 ? "," : "") + o.str();
    }
  const json::Value* complete = view->find("complete");
  line.pop_back();
  return line + ",\"community\":" +
         JsonObject()
             .add("complete", complete && complete->kind == json::Kind::boolean && complete->boolean)
             .add_raw("slots", slots + "]")
             .str() +
         "}";
}

// Each slot's local state beside the community's view of it.
std::string community_table(const std::vector<DatasetHealth>& all, const std::vector<std::optional<json::Value>>& views) {
  std::string out = fmt::format("{:<54} {:>5} {:>5} {:<13} {:<11} {}\n", "DATASET", "SLOT", "HERE", "LOCAL STATE",
                                "COMMUNITY", "HOLDER");
  for (std::size_t d = 0; d < all.size(); ++d) {
    const auto& h = all[d];
    const auto& view = views[d];
    out += fmt::format("{:<54} {:>5} {:>5} {:<13} {:<11} {}\n", h.cid.to_string(), "all", "",
                       dataset_state_name(h.state),
                       !view ? "-" : (view->find("complete") && view->find("complete")->boolean ? "complete" : "incomplete"),
                       "");
    for (const auto& s : h.slots) {
      const json::Value* c = community_slot(view, s.slot);
      out += fmt::format("{:<54} {:>5} {:>5} {:<13} {:<11} {}\n", "", s.slot, s.held ? "yes" : "no",
                         s.held ? dataset_state_name(s.state) : "-", c ? field_text(c, "state") : "-",
                         c ? field_text(c, "holder") : "-");
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  cli::Tool tool("codex-verify", "Check the blocks the repository holds, and make or check storage proofs of held slots.");
  CLI::App& app = tool.app();
  std::vector<std::string> cids;
  std::string sample, prove, challenge, check, output;
  std::uint32_t slot = 0, samples = kDefaultProofSamples;
  std::uint64_t seed = 0;
  bool community = false;
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
  app.add_flag("--community", community,
               "beside each slot, the community's view of it (state, holder) from the running daemon");
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
    std::vector<std::optional<json::Value>> views;
    for (const auto& record : records) {
      CODEX_TRY_ASSIGN(DatasetHealth health, check_dataset(*repository, *blocks, record, options));
      std::optional<json::Value> view;
      if (community && record.manifest.is_protected()) {
        CODEX_TRY_ASSIGN(view, daemon::community_view(repository->dir(), record.manifest_cid));
        if (!view) return make_error(Errc::not_found, "--community needs a daemon running on this repository (codex-gossip run)");
      }
      if (tool.common().json) std::printf("%s\n", (community ? with_community(health, view) : health_json(health)).c_str());
      all.push_back(std::move(health));
      views.push_back(std::move(view));
    }
    // -q (cron): nothing at all on a healthy day, the table when something is wrong.
    Status outcome = check_outcome(all);
    if (!tool.common().json && !(tool.common().quiet && outcome.ok()))
      std::fputs((community ? community_table(all, views) : health_table(all)).c_str(), stdout);
    return outcome;
  });
}
