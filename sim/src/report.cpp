// The simulator's report for people (a two-column table) and for scripts
// (one JSON object, keys in a fixed order, numbers printed the same way on
// every run so that equal runs print equal bytes).
#include <fmt/core.h>

#include <cmath>

#include "codex/json.hpp"
#include "codex/sim/simulator.hpp"

namespace codex::sim {
namespace {

std::string number(double x) { return std::isfinite(x) ? fmt::format("{:.6g}", x) : "null"; }

std::string convergence_json(const SimulationReport& r) {
  std::string out = "[";
  for (const Convergence& c : r.convergence) {
    if (out.size() > 1) out += ",";
    JsonObject o;
    o.add("event", c.event).add_raw("atSeconds", number(double(c.at) / 1000));
    if (c.converged_after >= 0) o.add_raw("convergedAfterSeconds", number(double(c.converged_after) / 1000));
    else o.add_null("convergedAfterSeconds");
    out += o.str();
  }
  return out + "]";
}

std::string by_type_json(const SimulationReport& r) {
  std::string out = "[";
  for (const auto& t : r.by_type) {
    if (out.size() > 1) out += ",";
    JsonObject o;
    o.add("type", t.type).add("messages", t.messages).add("bytes", t.bytes);
    out += o.str();
  }
  return out + "]";
}

}  // namespace

std::string report_json(const SimulationReport& r, bool resources) {
  JsonObject o;
  o.add("members", r.members).add("datasets", r.datasets).add_raw("simulatedSeconds", number(double(r.simulated) / 1000))
      .add("events", r.events).add("traceDigest", fmt::format("{:016x}", r.trace_digest))
      .add("messages", r.messages).add("bytes", r.bytes).add("dropped", r.dropped)
      .add_raw("messagesPerMemberSecond", number(r.messages_per_member_second))
      .add_raw("bytesPerMemberSecond", number(r.bytes_per_member_second))
      .add_raw("bytesPerMemberSecondRealProofs", number(r.bytes_per_member_second_real_proofs))
      .add("proofsMade", r.proofs_made)
      .add_raw("byType", by_type_json(r))
      .add("failures", r.failures).add("churnOffline", r.churn_offline).add("leaves", r.leaves).add("joins", r.joins)
      .add("datasetsPlaced", r.datasets_placed).add("datasetsUnplaced", r.datasets_unplaced).add("datasetsLost", r.datasets_lost)
      .add("slotsLost", r.slots_lost).add("slotsRebuilt", r.slots_rebuilt).add("slotsUnrepaired", r.slots_unrepaired)
      .add("slotsDoublyHeld", r.slots_doubly_held)
      .add("deathsDetected", r.deaths_detected)
      .add_raw("detectionMeanSeconds", number(r.detection_mean_s)).add_raw("detectionMaxSeconds", number(r.detection_max_s))
      .add_raw("repairStartMeanSeconds", number(r.repair_start_mean_s)).add_raw("repairStartMaxSeconds", number(r.repair_start_max_s))
      .add_raw("repairDoneMeanSeconds", number(r.repair_done_mean_s)).add_raw("repairDoneMaxSeconds", number(r.repair_done_max_s))
      .add("falseSuspicions", r.false_suspicions).add("falseDeaths", r.false_deaths)
      .add("repairsStarted", r.repairs_started).add("repairsFailed", r.repairs_failed).add("repairsCancelled", r.repairs_cancelled)
      .add("needlessRepairs", r.needless_repairs).add("transientRepairs", r.transient_repairs)
      .add("duplicateRebuilds", r.duplicate_rebuilds)
      .add("fetches", r.fetches).add("fetchesFailed", r.fetches_failed)
      .add("lateFetches", r.late_fetches).add("drops", r.drops)
      .add("repairBytes", r.repair_bytes).add("fetchBytes", r.fetch_bytes)
      .add_raw("convergence", convergence_json(r))
      .add("viewsAgree", r.views_agree).add("viewsTrue", r.views_true).add("deadlineStalls", r.deadline_stalls);
  if (resources) o.add_raw("wallSeconds", number(r.wall_seconds)).add("peakMemoryBytes", r.peak_memory_bytes);
  return o.str();
}

std::string report_table(const SimulationReport& r) {
  std::string out;
  auto row = [&](std::string_view name, const std::string& value) { out += fmt::format("{:<38} {}\n", name, value); };
  row("members / datasets", fmt::format("{} / {}", r.members, r.datasets));
  row("simulated", fmt::format("{:.1f} days ({} events)", double(r.simulated) / 86400000.0, r.events));
  row("messages per member per second", fmt::format("{:.4g}", r.messages_per_member_second));
  row("bytes per member per second", fmt::format("{:.4g} ({:.4g} with real proofs)", r.bytes_per_member_second,
                                                 r.bytes_per_member_second_real_proofs));
  row("messages sent / dropped", fmt::format("{} / {}", r.messages, r.dropped));
  std::string types;
  for (const auto& t : r.by_type) types += fmt::format("{}{} {}", types.empty() ? "" : ", ", t.type, t.messages);
  row("messages by type", types);
  row("failures / offline / leaves / joins", fmt::format("{} / {} / {} / {}", r.failures, r.churn_offline, r.leaves, r.joins));
  row("datasets placed / unplaced / LOST", fmt::format("{} / {} / {}", r.datasets_placed, r.datasets_unplaced, r.datasets_lost));
  row("slots lost / rebuilt / unrepaired", fmt::format("{} / {} / {}", r.slots_lost, r.slots_rebuilt, r.slots_unrepaired));
  row("slots held twice at the end", fmt::format("{}", r.slots_doubly_held));
  row("failure detection mean / max", fmt::format("{:.0f} s / {:.0f} s ({} deaths seen)", r.detection_mean_s, r.detection_max_s, r.deaths_detected));
  row("loss to repair start mean / max", fmt::format("{:.0f} s / {:.0f} s", r.repair_start_mean_s, r.repair_start_max_s));
  row("loss to slot rebuilt mean / max", fmt::format("{:.0f} s / {:.0f} s", r.repair_done_mean_s, r.repair_done_max_s));
  row("false suspicions / false deaths", fmt::format("{} / {}", r.false_suspicions, r.false_deaths));
  row("repairs started / failed / cancelled", fmt::format("{} / {} / {}", r.repairs_started, r.repairs_failed, r.repairs_cancelled));
  row("needless / transient repairs", fmt::format("{} / {}", r.needless_repairs, r.transient_repairs));
  row("duplicate rebuilds", fmt::format("{}", r.duplicate_rebuilds));
  row("slots moved: late fetches / drops", fmt::format("{} / {}", r.late_fetches, r.drops));
  row("repair traffic", fmt::format("{:.3g} GB ({:.3g} GB initial placement)", double(r.repair_bytes) / 1e9, double(r.fetch_bytes) / 1e9));
  for (const Convergence& c : r.convergence)
    row(fmt::format("converged after {} at {:.0f} s", c.event, double(c.at) / 1000),
        c.converged_after >= 0 ? fmt::format("{:.0f} s", double(c.converged_after) / 1000) : std::string("not within the run"));
  row("views agree / match the truth at end", fmt::format("{} / {}", r.views_agree ? "yes" : "no", r.views_true ? "yes" : "no"));
  row("wall time / peak memory", fmt::format("{:.1f} s / {:.0f} MiB", r.wall_seconds, double(r.peak_memory_bytes) / (1 << 20)));
  row("trace digest", fmt::format("{:016x}", r.trace_digest));
  return out;
}

}  // namespace codex::sim
