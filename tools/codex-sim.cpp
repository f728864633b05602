// codex-sim: what altruistic mode promises, computed and simulated.
//   codex-sim model   the durability model: the probability that a dataset is
//                     lost within a horizon (whitepaper's Markov chain), or
//                     with --target the smallest K+M reaching a target.
//   codex-sim run     the deterministic simulator: N members running the
//                     protocol core over a virtual network and clock.
// See codex-sim(1), docs/durability.md.
#include <cmath>
#include <ctime>

#include "cli/tool.hpp"
#include "codex/json.hpp"
#include "codex/sim/duration.hpp"
#include "codex/sim/durability.hpp"
#include "codex/sim/simulator.hpp"

#include <unistd.h>

using namespace codex;

namespace {

struct ModelOptions {
  int k = 4, m = 2, l0 = 1, missed_proofs = 1, max_slots = 256;
  std::string mttf = "1y", mttr = "1d", proof_interval = "1d", horizon = "1y";
  double expansion = 0, target = 0;
};

int model_k = 4, model_m = 2, model_l0 = 1;  // -k, -m, --l0 serve both verbs

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

// What `run` takes from the command line; durations as text until checked.
struct RunOptions {
  std::uint64_t seed = 1;
  std::uint32_t members = 100, datasets = 100;
  std::string duration = "1d";
  std::string probe_interval, heartbeat_interval, sync_interval;
  std::uint32_t lost_after = 0;
  std::string latency = "40ms", jitter = "20ms";
  double loss = 0, asymmetric = 0, slow = 0;
  std::vector<std::string> partitions;  // START+DURATION[:FRACTION]
  std::string run_mttf, churn_uptime, churn_downtime = "1h";
  std::string correlated;  // FRACTION@TIME
  std::string leave;       // FRACTION@TIME
  std::string late_join;   // FRACTION@TIME
  bool established = false;
  std::string join_spread = "10m", publish_at = "15m", publish_spread = "1h";
  std::string slot_size_mib = "64";
  double bandwidth_mb = 10;
  std::string sample_interval = "1m";
  bool no_resources = false;
};

Result<std::pair<double, std::int64_t>> fraction_at(const std::string& text, const char* what) {
  const auto at = text.find('@');
  if (at == std::string::npos) return make_error(Errc::usage, "{} '{}' is not FRACTION@TIME (e.g. 0.1@2d)", what, text);
  double fraction = 0;
  try {
    std::size_t used = 0;
    fraction = std::stod(text.substr(0, at), &used);
    if (used != at) throw std::invalid_argument("");
  } catch (const std::exception&) {
    return make_error(Errc::usage, "{} '{}' does not start with a fraction", what, text);
  }
  CODEX_TRY_ASSIGN(std::int64_t time, sim::parse_duration_ms(text.substr(at + 1)));
  return std::pair{fraction, time};
}

Status run_simulation(cli::Tool& tool, const RunOptions& o) {
  sim::SimulationConfig c;
  c.seed = o.seed;
  c.members = o.members;
  c.datasets = o.datasets;
  c.k = model_k;
  c.m = model_m;
  c.l0 = model_l0;
  CODEX_TRY_ASSIGN(c.duration, sim::parse_duration_ms(o.duration));
  if (!o.probe_interval.empty()) {
    CODEX_TRY_ASSIGN(c.protocol.probe_interval, sim::parse_duration_ms(o.probe_interval));
  }
  if (!o.heartbeat_interval.empty()) {
    CODEX_TRY_ASSIGN(c.protocol.heartbeat_interval, sim::parse_duration_ms(o.heartbeat_interval));
  }
  if (!o.sync_interval.empty()) {
    CODEX_TRY_ASSIGN(c.protocol.sync_interval, sim::parse_duration_ms(o.sync_interval));
  }
  if (o.lost_after != 0) {
    if (o.lost_after < 2 || o.lost_after > 100) return make_error(Errc::usage, "--lost-after must be between 2 and 100");
    c.protocol.lost_after_missed = o.lost_after;
    c.protocol.suspect_after_missed = std::min(c.protocol.suspect_after_missed, o.lost_after - 1);
  }
  CODEX_TRY_ASSIGN(c.latency, sim::parse_duration_ms(o.latency));
  CODEX_TRY_ASSIGN(c.jitter, sim::parse_duration_ms(o.jitter));
  c.loss = o.loss;
  c.asymmetric_fraction = o.asymmetric;
  c.slow_fraction = o.slow;
  for (const std::string& text : o.partitions) {
    // START+DURATION[:FRACTION]
    const auto plus = text.find('+');
    if (plus == std::string::npos) return make_error(Errc::usage, "partition '{}' is not START+DURATION[:FRACTION] (e.g. 1d+2h:0.3)", text);
    const auto colon = text.find(':', plus);
    sim::Partition p;
    CODEX_TRY_ASSIGN(p.start, sim::parse_duration_ms(text.substr(0, plus)));
    CODEX_TRY_ASSIGN(p.duration, sim::parse_duration_ms(text.substr(plus + 1, colon == std::string::npos ? std::string::npos : colon - plus - 1)));
    if (colon != std::string::npos) {
      try {
        std::size_t used = 0;
        p.fraction = std::stod(text.substr(colon + 1), &used);
        if (used != text.size() - colon - 1) throw std::invalid_argument("");
      } catch (const std::exception&) {
        return make_error(Errc::usage, "partition '{}' has no fraction after ':'", text);
      }
    }
    c.partitions.push_back(p);
  }
  if (!o.run_mttf.empty()) {
    CODEX_TRY_ASSIGN(c.mttf, sim::parse_duration_ms(o.run_mttf));
  }
  if (!o.churn_uptime.empty()) {
    CODEX_TRY_ASSIGN(c.churn_uptime, sim::parse_duration_ms(o.churn_uptime));
  }
  CODEX_TRY_ASSIGN(c.churn_downtime, sim::parse_duration_ms(o.churn_downtime));
  if (!o.correlated.empty()) {
    CODEX_TRY_ASSIGN(auto fa, fraction_at(o.correlated, "--correlated"));
    std::tie(c.correlated_fraction, c.correlated_at) = fa;
  }
  if (!o.leave.empty()) {
    CODEX_TRY_ASSIGN(auto fa, fraction_at(o.leave, "--leave"));
    std::tie(c.leave_fraction, c.leave_at) = fa;
  }
  if (!o.late_join.empty()) {
    CODEX_TRY_ASSIGN(auto fa, fraction_at(o.late_join, "--late-join"));
    std::tie(c.join_late_fraction, c.join_late_at) = fa;
  }
  c.established = o.established;
  CODEX_TRY_ASSIGN(c.join_spread, sim::parse_duration_ms(o.join_spread));
  CODEX_TRY_ASSIGN(c.publish_at, sim::parse_duration_ms(o.publish_at));
  CODEX_TRY_ASSIGN(c.publish_spread, sim::parse_duration_ms(o.publish_spread));
  CODEX_TRY_ASSIGN(c.sample_interval, sim::parse_duration_ms(o.sample_interval));
  double slot_mib = 0;
  try {
    std::size_t used = 0;
    slot_mib = std::stod(o.slot_size_mib, &used);
    if (used != o.slot_size_mib.size() || !(slot_mib > 0 && slot_mib <= 1 << 20)) throw std::invalid_argument("");
  } catch (const std::exception&) {
    return make_error(Errc::usage, "--slot-size '{}' is not a size in MiB between 0 and 1048576", o.slot_size_mib);
  }
  c.slot_bytes = std::uint64_t(slot_mib * (1 << 20));
  if (!(o.bandwidth_mb > 0 && o.bandwidth_mb <= 1e6)) return make_error(Errc::usage, "--bandwidth must be between 0 and 1e6 MB/s");
  c.bandwidth_bytes_per_second = o.bandwidth_mb * 1e6;
  const bool tty = isatty(2);
  if (tool.common().verbose > 0 && !tool.common().quiet && tty)
    c.progress = [](sim::Time now, std::uint64_t events) {
      std::fprintf(stderr, "\rcodex-sim: %.2f days simulated, %llu events", double(now) / 86400000.0, (unsigned long long)events);
    };
  else if (tool.common().verbose > 0 && !tool.common().quiet)
    // Not a terminal (a log): one line per simulated day begun, with the
    // CPU time so far, so that a long run's cost per day can be read off.
    c.progress = [day = std::int64_t(0)](sim::Time now, std::uint64_t events) mutable {
      if (now / 86400000 < day) return;
      day = now / 86400000 + 1;
      std::fprintf(stderr, "codex-sim: %.2f days simulated, %llu events, %.1f s of CPU\n", double(now) / 86400000.0,
                   (unsigned long long)events, double(std::clock()) / CLOCKS_PER_SEC);
      std::fflush(stderr);
    };
  CODEX_TRY_ASSIGN(sim::SimulationReport report, sim::simulate(c));
  if (c.progress && tty) std::fputc('\n', stderr);
  if (tool.common().json) std::printf("%s\n", sim::report_json(report, !o.no_resources).c_str());
  else std::fputs(sim::report_table(report).c_str(), stdout);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  cli::Tool tool("codex-sim", "Durability model and deterministic simulator of altruistic mode.");
  CLI::App& app = tool.app();
  std::string verb;
  app.add_option("VERB", verb, "what to do: model (the durability model) or run (the simulator)")
      ->required()
      ->check(CLI::IsMember({"model", "run"}))
      ->type_name("");

  ModelOptions model;
  const char* group = "Durability model (codex-sim model)";
  app.add_option("-k", model.k, "data slots K (default 4)")->type_name("K")->group(group);
  app.add_option("-m", model.m, "parity slots M: up to M may be lost (default 2)")->type_name("M")->group(group);
  app.add_option("--l0", model.l0, "observed losses that start a repair (lazy repair; default 1)")->type_name("N")->group(group);
  CLI::Option* mttf = app.add_option("--mttf", model.mttf, "mean time to failure of a slot's holder (default 1y; run: members fail for good at this mean time, default never)")->type_name("DURATION")->group(group);
  app.add_option("--mttr", model.mttr, "mean time to repair once started (default 1d)")->type_name("DURATION")->group(group);
  app.add_option("--proof-interval", model.proof_interval, "mean time between a holder's proofs (default 1d)")->type_name("DURATION")->group(group);
  app.add_option("--missed-proofs", model.missed_proofs, "proofs a slot must miss to count as lost (default 1)")->type_name("N")->group(group);
  app.add_option("--horizon", model.horizon, "loss probability within this time (default 1y)")->type_name("DURATION")->group(group);
  app.add_option("--target", model.target, "with --expansion: find the smallest K+M whose loss probability is at most this")->type_name("P")->group(group);
  app.add_option("--expansion", model.expansion, "with --target: (K+M)/K of the codes to consider")->type_name("E")->group(group);
  app.add_option("--max-slots", model.max_slots, "with --target: largest K+M to consider (default 256)")->type_name("N")->group(group);

  RunOptions run;
  const char* sim = "Simulator (codex-sim run; -k, -m, --l0 and --mttf above apply too)";
  app.add_option("--seed", run.seed, "seed of the run: same seed, same run (default 1)")->type_name("N")->group(sim);
  app.add_option("--members", run.members, "members of the community (default 100)")->type_name("N")->group(sim);
  app.add_option("--datasets", run.datasets, "datasets published (default 100)")->type_name("N")->group(sim);
  app.add_option("--duration", run.duration, "simulated time (default 1d)")->type_name("DURATION")->group(sim);
  app.add_option("--probe-interval", run.probe_interval, "SWIM probe interval (default: the protocol's)")->type_name("DURATION")->group(sim);
  app.add_option("--heartbeat-interval", run.heartbeat_interval, "heartbeat interval (default: the protocol's)")->type_name("DURATION")->group(sim);
  app.add_option("--sync-interval", run.sync_interval, "anti-entropy interval (default: the protocol's)")->type_name("DURATION")->group(sim);
  app.add_option("--lost-after", run.lost_after, "missed heartbeats before a slot is lost (default: the protocol's)")->type_name("N")->group(sim);
  app.add_option("--latency", run.latency, "one-way network latency (default 40ms)")->type_name("DURATION")->group(sim);
  app.add_option("--jitter", run.jitter, "mean of the exponential jitter added to it (default 20ms)")->type_name("DURATION")->group(sim);
  app.add_option("--loss", run.loss, "probability that a message is lost (default 0)")->type_name("P")->group(sim);
  app.add_option("--asymmetric", run.asymmetric, "share of directed links that lose 90% of messages (default 0)")->type_name("P")->group(sim);
  app.add_option("--partition", run.partitions, "cut a FRACTION off from the rest at START for DURATION (repeatable)")
      ->type_name("START+DURATION[:FRACTION]")->group(sim);
  app.add_option("--slow", run.slow, "share of members whose links are 20 times slower (default 0)")->type_name("P")->group(sim);
  app.add_option("--churn-uptime", run.churn_uptime, "members go offline after this mean time up (default: never)")->type_name("DURATION")->group(sim);
  app.add_option("--churn-downtime", run.churn_downtime, "... and come back after this mean time (default 1h)")->type_name("DURATION")->group(sim);
  app.add_option("--correlated", run.correlated, "a FRACTION of members fails for good at TIME")->type_name("FRACTION@TIME")->group(sim);
  app.add_option("--leave", run.leave, "a FRACTION of members leaves gracefully at TIME")->type_name("FRACTION@TIME")->group(sim);
  app.add_option("--join-spread", run.join_spread, "members join over this time (default 10m)")->type_name("DURATION")->group(sim);
  app.add_flag("--established", run.established, "start with every member up and known to all, as long after the joins")->group(sim);
  app.add_option("--late-join", run.late_join, "FRACTION x members new members join at TIME")->type_name("FRACTION@TIME")->group(sim);
  app.add_option("--publish-at", run.publish_at, "datasets are published from this time (default 15m) ...")->type_name("DURATION")->group(sim);
  app.add_option("--publish-spread", run.publish_spread, "... over this time (default 1h)")->type_name("DURATION")->group(sim);
  app.add_option("--slot-size", run.slot_size_mib, "size of one slot in MiB, for transfer times (default 64)")->type_name("MIB")->group(sim);
  app.add_option("--bandwidth", run.bandwidth_mb, "transfer rate of a fetch or rebuild in MB/s (default 10)")->type_name("MBPS")->group(sim);
  app.add_option("--sample-interval", run.sample_interval, "how often convergence is checked (default 1m)")->type_name("DURATION")->group(sim);
  app.add_flag("--no-resources", run.no_resources, "leave wall time and memory out of --json (identical bytes for identical runs)")->group(sim);
  tool.add_common(cli::kJson);

  return tool.run(argc, argv, [&]() -> Status {
    if (verb == "model") return run_model(tool, model);
    model_k = model.k;
    model_m = model.m;
    model_l0 = model.l0;
    if (mttf->count() > 0) run.run_mttf = model.mttf;
    return run_simulation(tool, run);
  });
}
