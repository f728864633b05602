// The deterministic simulator: N members, each running the protocol core's
// Node, over a virtual clock (one event queue) and a virtual network
// (latency, loss, partitions, asymmetric links), with failures (independent
// permanent failures at a mean time to failure, churn with members that come
// back, a correlated failure of a fraction, graceful leaves, slow members).
// Data is not simulated, only its metadata: signatures and storage proofs are
// cheap stand-ins, and fetching or rebuilding a slot completes after a
// modelled transfer time. The simulator keeps the ground truth (who really
// stores what, who is really up) and scores the protocol against it.
//
// Same configuration and seed, same run, bit for bit: one thread, one queue
// ordered by (time, sequence number), one seeded generator per purpose, no
// standard-library distributions (their output differs between libraries).
// docs/simulator.md describes the model and the report.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "codex/error.hpp"
#include "codex/protocol/config.hpp"

namespace codex::sim {

using Time = std::int64_t;  // milliseconds of simulated time

struct Partition {
  Time start = 0;
  Time duration = 0;
  double fraction = 0.5;  // share of members cut off from the rest
};

struct SimulationConfig {
  std::uint64_t seed = 1;
  std::uint32_t members = 100;
  std::uint32_t datasets = 100;
  int k = 4, m = 2, l0 = 1;
  Time duration = 24LL * 3600 * 1000;
  protocol::Config protocol;  // the core's parameters (probe, heartbeat intervals, ...)

  // Joining and publishing: members join over join_spread (each asks a
  // member that joined before it); datasets are published by random members
  // over publish_spread starting at publish_at.
  Time join_spread = 10LL * 60 * 1000;
  // An established community instead: every member is up at time 0 and
  // knows every other (Node::restore), as long after its joins; join_spread
  // is then ignored. Large runs measure the steady state this way.
  bool established = false;
  // Newcomers: join_late_fraction * members new members join at join_late_at
  // (after the datasets are placed: placement is sticky, they should take no slot).
  double join_late_fraction = 0;
  Time join_late_at = 0;
  Time publish_at = 15LL * 60 * 1000;
  Time publish_spread = 60LL * 60 * 1000;

  // Network: one-way latency = latency + exponential jitter (mean jitter).
  Time latency = 40;
  Time jitter = 20;
  double loss = 0;                 // probability any message is dropped
  double asymmetric_fraction = 0;  // share of directed links that are bad
  double asymmetric_loss = 0.9;    // loss on a bad directed link
  // Random loss (loss and bad links, not partitions) stops at this time
  // (0: never): a test lets a run settle before judging its end state.
  Time loss_until = 0;
  std::vector<Partition> partitions;
  double slow_fraction = 0;        // share of members whose links are slow
  double slow_factor = 20;         // their latency multiplier

  // Failures. 0 disables each.
  Time mttf = 0;                   // permanent failure (data gone), per member
  bool replace_failed = true;      // a fresh member joins for each failed one
  Time churn_uptime = 0;           // mean time online before going offline
  Time churn_downtime = 3600LL * 1000;  // mean time offline (data kept)
  double correlated_fraction = 0;  // share failing permanently at once ...
  Time correlated_at = 0;          // ... at this time
  double leave_fraction = 0;       // share leaving gracefully at once ...
  Time leave_at = 0;               // ... at this time

  // Transfers: a fetch moves one slot, a rebuild K slots.
  std::uint64_t slot_bytes = 64ULL << 20;
  double bandwidth_bytes_per_second = 10e6;
  // Size of a real storage proof, for the byte count "with real proofs"
  // (the stand-in proof is 8 bytes).
  std::uint64_t real_proof_bytes = 4 * (2048 + 2 * 16 * 32);

  Time sample_interval = 60LL * 1000;  // how often convergence is checked while awaited
  // Called now and then with progress (simulated time, events); may be empty.
  std::function<void(Time now, std::uint64_t events)> progress;
};

Status check(const SimulationConfig& config);

struct Convergence {
  std::string event;        // "joins", "leaves", "partition-heal", "correlated-failure"
  Time at = 0;              // when the event ended
  Time converged_after = -1;  // -1: not within the run
};

struct SimulationReport {
  // The run
  std::uint32_t members = 0, datasets = 0;
  Time simulated = 0;
  std::uint64_t events = 0;
  std::uint64_t trace_digest = 0;  // hash of every delivery and action: equal runs, equal digest
  // Traffic
  std::uint64_t messages = 0, bytes = 0, dropped = 0;
  double messages_per_member_second = 0, bytes_per_member_second = 0;
  double bytes_per_member_second_real_proofs = 0;
  std::uint64_t proofs_made = 0;
  struct TypeCount {
    std::string type;  // the protocol message type ("ping", "heartbeat", ...)
    std::uint64_t messages = 0, bytes = 0;
  };
  std::vector<TypeCount> by_type;  // where the traffic goes, largest first
  // Failures injected
  std::uint64_t failures = 0, churn_offline = 0, leaves = 0, joins = 0;
  // Durability (ground truth)
  std::uint64_t datasets_placed = 0, datasets_unplaced = 0, datasets_lost = 0;
  std::uint64_t slots_lost = 0, slots_rebuilt = 0, slots_unrepaired = 0;
  std::uint64_t slots_doubly_held = 0;  // at the end: slots stored by two live members
  // Detection and repair
  std::uint64_t deaths_detected = 0;
  double detection_mean_s = 0, detection_max_s = 0;      // failure -> first "dead" in any view
  double repair_start_mean_s = 0, repair_start_max_s = 0;  // slot loss -> first RebuildSlot
  double repair_done_mean_s = 0, repair_done_max_s = 0;    // slot loss -> slot stored again
  std::uint64_t false_suspicions = 0;   // a view marked an up member suspect
  std::uint64_t false_deaths = 0;       // an up member was declared dead (episodes)
  std::uint64_t repairs_started = 0, repairs_failed = 0, repairs_cancelled = 0;
  std::uint64_t needless_repairs = 0;   // RebuildSlot while the holder was up and held it
  std::uint64_t transient_repairs = 0;  // RebuildSlot while the holder was only offline
  std::uint64_t duplicate_rebuilds = 0; // rebuilds completed for a slot someone already held
  std::uint64_t fetches = 0, fetches_failed = 0;
  std::uint64_t late_fetches = 0;  // FetchSlot asked for a dataset already placed (a slot moving)
  std::uint64_t drops = 0;         // DropSlot actions (a holder giving a slot up)
  std::uint64_t repair_bytes = 0, fetch_bytes = 0;
  std::vector<Convergence> convergence;
  // Views at the end (members that are up)
  bool views_agree = false;  // every up member counts the same live members ...
  bool views_true = false;   // ... and that is the number of members up
  std::uint64_t deadline_stalls = 0;  // next_deadline() not in the future after a tick
  // Resources (not deterministic: left out of the trace digest)
  double wall_seconds = 0;
  std::uint64_t peak_memory_bytes = 0;
};

Result<SimulationReport> simulate(const SimulationConfig& config);

// The report as a table for people, and as one JSON object. With
// `resources` false the wall time and memory are left out, so two runs of
// one configuration print identical bytes.
std::string report_table(const SimulationReport& report);
std::string report_json(const SimulationReport& report, bool resources = true);

}  // namespace codex::sim
