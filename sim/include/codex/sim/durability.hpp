// The durability model: the probability that a dataset of K+M slots is lost
// within a horizon (a year), from the Codex whitepaper's continuous-time
// Markov chain (section 5). Slots fail independently at rate 1/MTTF each; a
// lost slot is observed at its next proof (exponential, mean = proof
// interval); once l0 losses are observed a repair starts and completes at rate
// 1/MTTR, restoring every slot; the dataset is lost when more than M slots are
// lost at once. Pure computation, no I/O: codex-sim(1) `model` and the
// simulator's agreement test call it. See docs/durability.md.
#pragma once

#include <cstdint>
#include <vector>

#include "codex/error.hpp"

namespace codex::sim {

// Times are in hours (a year is 8760 h, as in the whitepaper).
struct DurabilityParameters {
  int k = 4;                      // data slots
  int m = 2;                      // parity slots: up to m may be lost
  int l0 = 1;                     // lazy repair: observed losses that start a repair
  double mttf_hours = 8760;       // mean time to failure of one slot's holder
  double mttr_hours = 24;         // mean time to repair once started
  double proof_interval_hours = 24;  // mean time between proofs (detection delay)
  int missed_proofs = 1;          // proofs a slot must miss to count as lost (l1)
  double horizon_hours = 8760;    // the "within" of "lost within a year"
  // How to solve: automatic picks the cheaper; tests force one or the other.
  enum class Solver { automatic, vector, squaring } solver = Solver::automatic;
};

// What the chain says about one dataset.
struct DurabilityResult {
  double loss_probability = 0;    // P(more than M slots lost at once within the horizon)
  double mean_time_to_loss_hours = 0;  // expected time to absorption from (0,0)
  std::size_t states = 0;         // transient states of the chain
  std::uint64_t steps = 0;        // uniformization steps or squarings performed
};

// Checks the parameters (bounded: k+m <= 1024, positive finite times).
Status check(const DurabilityParameters& parameters);

Result<DurabilityResult> analyse(const DurabilityParameters& parameters);

// The inverse question: the smallest K+M with (K+M)/K == expansion exactly
// (so M = K*(expansion-1) is a whole number) whose loss probability is at most
// target. The other fields of `base` (l0, times) are kept.
struct Sizing {
  int k = 0;
  int m = 0;
  double loss_probability = 0;
};
Result<Sizing> smallest_code(const DurabilityParameters& base, double expansion, double target, int max_slots = 256);

}  // namespace codex::sim
