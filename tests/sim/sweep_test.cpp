// The end-state properties of tests/sim/simulator_test.cpp over many seeds,
// not one: a single seed is a weak oracle (docs/simulator.md, "Properties":
// over 30 seeds of the healed-partition run, 22 slots once ended held twice
// while the test's own seed showed none). Each sweep runs its configuration
// at every seed and fails naming every seed whose end state breaks a
// property, with what it found there.
//
// Runtime: 46 short runs, about 30 s of CPU in all (the seed counts are
// chosen for that; ctest's timeout for each test is 300 s).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "codex/sim/simulator.hpp"
#include "small_community.hpp"

namespace codex::sim {
namespace {

using namespace test_configs;  // small_community.hpp: kS..kD, healed_partitions

// EverySlotPlacedAndRepairedUnderMessageLoss's configuration: 100 members,
// 1,000 datasets, the protocol's default timers (a heartbeat a day), 1%
// message loss, 2% of the members failing at once a day after placement.
// The loss stops after two days and the run is judged six hours later: a
// message lost in the run's last minutes (a Claim, a view, an audit) may
// leave two holders of a slot that have not met yet, which is not a slot
// held twice for good. Six hours, not a heartbeat interval: two holders a
// watcher hears from now settle within minutes (the replaced one is told at
// once, docs/protocol.md "Two holders of one slot"); before this round's
// rules (main c1677c6) seeds 5, 8 and 9 still had 4 slots held twice six
// hours after the loss stopped (none a day and a half after).
SimulationConfig message_loss(std::uint64_t seed) {
  SimulationConfig c;
  c.seed = seed;
  c.members = 100;
  c.datasets = 1000;
  c.established = true;
  c.loss = 0.01;
  c.correlated_fraction = 0.02;
  c.correlated_at = 1 * kD;
  c.loss_until = 2 * kD;
  c.duration = c.loss_until + 6 * kH;
  return c;
}

// Runs `config(seed)` for seeds [first, last]; returns one line per seed
// whose end state breaks a property ("" when none does).
template <class Config>
std::string sweep(Config config, std::uint64_t first, std::uint64_t last, bool check_repairs) {
  std::string bad;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    const SimulationConfig c = config(seed);
    auto result = simulate(c);
    if (!result.ok()) {
      bad += "seed " + std::to_string(seed) + ": " + result.error().message + "\n";
      continue;
    }
    const SimulationReport& r = *result;
    std::string line;
    if (r.slots_doubly_held > 0) line += " slots held twice " + std::to_string(r.slots_doubly_held) + ";";
    // With more than M members failing at once a dataset may lose more
    // than M slots at once: lost for real, whatever the protocol does (each
    // member holds at most one slot of a dataset, so with at most M failures
    // none can be).
    if (r.datasets_lost > 0 && r.failures <= std::uint64_t(c.m))
      line += " datasets lost " + std::to_string(r.datasets_lost) + ";";
    if (r.datasets_placed != c.datasets) line += " datasets placed " + std::to_string(r.datasets_placed) + ";";
    if (check_repairs && r.slots_unrepaired > 0) line += " slots unrepaired " + std::to_string(r.slots_unrepaired) + ";";
    if (!r.views_agree || !r.views_true) line += " views disagree;";
    if (!line.empty()) bad += "seed " + std::to_string(seed) + ":" + line + "\n";
  }
  return bad;
}

// Healed partitions, seeds 1-30 (the test in simulator_test.cpp runs 11):
// no slot ends held twice, no dataset is lost, views agree and are true.
// Seeds 1, 8 and 21 each ended with slots held twice before a holder whose
// view has a slot lost but unconfirmed heartbeated every live co-holder,
// and seed 21 again with the audit of late claimants before a holder whose
// view has nobody left to hear it looked for the dataset's current holders
// (docs/protocol.md, Loss detection and Repair).
TEST(SimulatorSweep, HealedPartitionsAtThirtySeeds) {
  EXPECT_EQ(sweep(healed_partitions, 1, 30, false), "");
}

// Message loss at the default timers, seeds 1-16 (the test in
// simulator_test.cpp runs 62): every dataset placed, every lost slot
// rebuilt, no slot held twice six hours after the loss stopped, no dataset
// lost where at most M members failed
// (seeds 9 and 11 lose 6 and 5 members at once, and 3 and 2 datasets with
// them).
TEST(SimulatorSweep, MessageLossAtSixteenSeeds) {
  EXPECT_EQ(sweep(message_loss, 1, 16, true), "");
}

}  // namespace
}  // namespace codex::sim
