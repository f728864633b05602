// codex-sim: what altruistic mode promises, computed and simulated.
//   codex-sim model   the durability model: the probability that a dataset is
//                     lost within a horizon (whitepaper's Markov chain), or
//                     with --target the smallest K+M reaching a target.
// See codex-sim(1), docs/durability.md.
#include <cmath>

#include "cli/tool.hpp"
#include "codex/json.hpp"
#include "codex/sim/duration.hpp"
#include "codex/sim/durability.hpp"

using namespace codex;

namespace {

struct ModelOptions {
  int k = 4, m = 2, l0 = 1, missed_proofs = 1, max_slots = 256;
  std::string mttf = "1y", mttr = "1d", proof_interval = "1d", horizon = "1y";
  double expansion = 0, target = 0;
};

std::string number(double x) { return std::isfinite(x) ? fmt::format("{:.6g}", x) : "null"; }

Status run_model(cli::Tool& tool, const ModelOptions& o) {
  sim::DurabilityParameters p;
  p.k = o.k;
  p.m = o.m;
  p.l0 = o.l0;
  p.missed_proofs = o.missed_proofs;
  CODEX_TRY_ASSIGN(p.mttf_hours, sim::parse_duration_seconds(o.mttf));
  CODEX_TRY_ASSIGN(p.mttr_hours, sim::parse_duration_seconds(o.mttr));
  CODEX_TRY_ASSIGN(p.proof_interval_hours, sim::parse_duration_seconds(o.proof_interval));
  CODEX_TRY_ASSIGN(p.horizon_hours, sim::parse_duration_seconds(o.horizon));
  for (double* hours : {&p.mttf_hours, &p.mttr_hours, &p.proof_interval_hours, &p.horizon_hours}) *hours /= 3600;
  const bool sizing = o.target != 0 || o.expansion != 0;
  if (sizing) {
    if (o.target == 0 || o.expansion == 0) return make_error(Errc::usage, "--target and --expansion go together");
    CODEX_TRY_ASSIGN(sim::Sizing s, sim::smallest_code(p, o.expansion, o.target, o.max_slots));
    p.k = s.k;
    p.m = s.m;
  }
  CODEX_TRY_ASSIGN(sim::DurabilityResult r, sim::analyse(p));
  const double mttdl_years = r.mean_time_to_loss_hours / 8760;
  if (tool.common().json) {
    JsonObject line;
    line.add("k", p.k).add("m", p.m).add("l0", p.l0).add("missedProofs", p.missed_proofs)
        .add_raw("mttfHours", number(p.mttf_hours)).add_raw("mttrHours", number(p.mttr_hours))
        .add_raw("proofIntervalHours", number(p.proof_interval_hours)).add_raw("horizonHours", number(p.horizon_hours));
    if (sizing) line.add_raw("expansion", number(o.expansion)).add_raw("target", number(o.target));
    line.add_raw("lossProbability", fmt::format("{:.6e}", r.loss_probability))
        .add_raw("meanTimeToLossYears", number(mttdl_years))
        .add("states", static_cast<std::uint64_t>(r.states));
    std::printf("%s\n", line.str().c_str());
    return {};
  }
  if (sizing) std::printf("smallest code of expansion %g with loss probability <= %g: k=%d m=%d\n", o.expansion, o.target, p.k, p.m);
  std::printf("k=%d m=%d l0=%d mttf=%s mttr=%s proof-interval=%s missed-proofs=%d\n", p.k, p.m, p.l0,
              sim::format_duration(p.mttf_hours * 3600).c_str(), sim::format_duration(p.mttr_hours * 3600).c_str(),
              sim::format_duration(p.proof_interval_hours * 3600).c_str(), p.missed_proofs);
  std::printf("loss probability within %s: %.4e\n", sim::format_duration(p.horizon_hours * 3600).c_str(), r.loss_probability);
  if (std::isfinite(mttdl_years)) std::printf("mean time to loss: %.4g years\n", mttdl_years);
  tool.verbose(fmt::format("{} transient states, {} solver steps", r.states, r.steps));
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  cli::Tool tool("codex-sim", "Durability model and deterministic simulator of altruistic mode.");
  CLI::App& app = tool.app();
  std::string verb;
  app.add_option("VERB", verb, "what to do: model (the durability model)")->required()->check(CLI::IsMember({"model"}))->type_name("");

  ModelOptions model;
  const char* group = "Durability model (codex-sim model)";
  app.add_option("-k", model.k, "data slots K (default 4)")->type_name("K")->group(group);
  app.add_option("-m", model.m, "parity slots M: up to M may be lost (default 2)")->type_name("M")->group(group);
  app.add_option("--l0", model.l0, "observed losses that start a repair (lazy repair; default 1)")->type_name("N")->group(group);
  app.add_option("--mttf", model.mttf, "mean time to failure of a slot's holder (default 1y)")->type_name("DURATION")->group(group);
  app.add_option("--mttr", model.mttr, "mean time to repair once started (default 1d)")->type_name("DURATION")->group(group);
  app.add_option("--proof-interval", model.proof_interval, "mean time between a holder's proofs (default 1d)")->type_name("DURATION")->group(group);
  app.add_option("--missed-proofs", model.missed_proofs, "proofs a slot must miss to count as lost (default 1)")->type_name("N")->group(group);
  app.add_option("--horizon", model.horizon, "loss probability within this time (default 1y)")->type_name("DURATION")->group(group);
  app.add_option("--target", model.target, "with --expansion: find the smallest K+M whose loss probability is at most this")->type_name("P")->group(group);
  app.add_option("--expansion", model.expansion, "with --target: (K+M)/K of the codes to consider")->type_name("E")->group(group);
  app.add_option("--max-slots", model.max_slots, "with --target: largest K+M to consider (default 256)")->type_name("N")->group(group);
  tool.add_common(cli::kJson);

  return tool.run(argc, argv, [&]() -> Status { return run_model(tool, model); });
}
