// Properties of the protocol core, checked through the simulator: runs are
// reproducible bit for bit; membership views converge after message loss and
// healed partitions; once stable no slot has two holders; every lost slot is
// rebuilt, in the end by one member; no dataset is lost while at most M of
// its slots fail between repairs; and with failures sped up so that losses
// are observable, the share of datasets lost agrees with the durability model.
#include "codex/sim/simulator.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "codex/sim/durability.hpp"
#include "small_community.hpp"

namespace codex::sim {
namespace {

using namespace test_configs;  // small_community.hpp: kS..kD, small, healed_partitions

SimulationReport run(const SimulationConfig& c) {
  auto r = simulate(c);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : SimulationReport{};
}

SimulationConfig busy(std::uint64_t seed) {
  SimulationConfig c = small(seed);
  c.duration = 6 * kH;
  c.loss = 0.02;
  c.churn_uptime = 3 * kH;
  c.churn_downtime = 20 * kMin;
  c.mttf = 2 * kD;
  return c;
}

// Reports of runs in child processes (as separate invocations of codex-sim
// would run them), all forked before the parent allocates anything more, so
// that every child starts from the same heap.
std::vector<std::string> run_in_children(const std::vector<SimulationConfig>& configs) {
  std::vector<int> readers;
  std::vector<pid_t> children;
  for (const SimulationConfig& c : configs) {
    int fds[2];
    if (pipe(fds) != 0) return {};
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      auto r = simulate(c);
      const std::string json = r.ok() ? report_json(*r, false) : r.error().message;
      ssize_t unused = write(fds[1], json.data(), json.size());
      (void)unused;
      _exit(0);
    }
    close(fds[1]);
    readers.push_back(fds[0]);
    children.push_back(pid);
  }
  std::vector<std::string> out(configs.size());
  char buffer[4096];
  for (std::size_t i = 0; i < readers.size(); ++i) {
    for (ssize_t n; (n = read(readers[i], buffer, sizeof buffer)) > 0;) out[i].append(buffer, std::size_t(n));
    close(readers[i]);
    int status = 0;
    waitpid(children[i], &status, 0);
  }
  return out;
}

TEST(Simulator, SameSeedSameRunBitForBit) {
  const auto reports = run_in_children({busy(7), busy(7), busy(8)});
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0], reports[1]);
  EXPECT_NE(reports[0].find("\"traceDigest\""), std::string::npos) << reports[0];
  EXPECT_NE(reports[0], reports[2]);
}

// Two runs in one process: nothing in the core or the simulator may depend on
// heap addresses (the core once ordered dataset views by the address of their
// state, and two runs diverged).
TEST(Simulator, SameSeedSameRunInOneProcess) {
  const SimulationConfig c = busy(7);
  const SimulationReport a = run(c), b = run(c);
  EXPECT_EQ(report_json(a, false), report_json(b, false));
}

TEST(Simulator, ViewsConvergeAfterMessageLossAndLeaves) {
  SimulationConfig c = small(11);
  c.duration = 12 * kH;
  c.loss = 0.1;
  c.asymmetric_fraction = 0.05;
  c.leave_fraction = 0.1;
  c.leave_at = 6 * kH;
  const SimulationReport r = run(c);
  ASSERT_EQ(r.convergence.size(), 2u);  // joins, leaves
  for (const Convergence& e : r.convergence) EXPECT_GE(e.converged_after, 0) << e.event << " at " << e.at;
  EXPECT_GT(r.leaves, 0u);
  EXPECT_GT(r.dropped, 0u);
  EXPECT_TRUE(r.views_agree);
  EXPECT_TRUE(r.views_true);
  // (Leaving members take their slots with them at once: a dataset that
  // loses more than M holders in the same instant may be lost; not checked.)
}

// Two partitions healed, under 5% message loss: views converge, no slot
// ends held twice, no dataset is lost. The same configuration at seeds 1-30:
// tests/sim/sweep_test.cpp.
TEST(Simulator, ViewsConvergeAfterHealedPartitions) {
  const SimulationReport r = run(healed_partitions(11));
  ASSERT_EQ(r.convergence.size(), 3u);  // joins and two heals
  for (const Convergence& e : r.convergence) EXPECT_GE(e.converged_after, 0) << e.event << " at " << e.at;
  EXPECT_TRUE(r.views_agree);
  EXPECT_TRUE(r.views_true);
  EXPECT_EQ(r.slots_doubly_held, 0u);
  EXPECT_EQ(r.datasets_lost, 0u);
}

// Placement is sticky: a slot stays with its live holder, so newcomers take
// no slot (the "(K+M)/N of each dataset's slots per member change" is
// an upper bound; this protocol moves none on joins). Also checks that an
// established community (Node::restore) starts with agreeing views.
TEST(Simulator, JoinsMoveNoSlots) {
  for (bool established : {false, true}) {
    SimulationConfig c = small(51);
    c.duration = 12 * kH;
    c.established = established;
    c.join_late_fraction = 0.25;  // ten newcomers
    c.join_late_at = 3 * kH;      // long after every dataset is placed
    const SimulationReport r = run(c);
    EXPECT_EQ(r.joins, c.members + 10u);
    EXPECT_EQ(r.datasets_placed, c.datasets);
    EXPECT_EQ(r.late_fetches, 0u) << "a join moved a slot";
    EXPECT_EQ(r.drops, 0u) << "a join made a holder give a slot up";
    EXPECT_EQ(r.repairs_started, 0u);
    EXPECT_EQ(r.false_suspicions, 0u);
    ASSERT_FALSE(r.convergence.empty());
    for (const Convergence& e : r.convergence) EXPECT_GE(e.converged_after, 0) << e.event << " at " << e.at;
    EXPECT_TRUE(r.views_true);
  }
}

TEST(Simulator, LostSlotsAreRebuiltOnceAndNoSlotEndsWithTwoHolders) {
  SimulationConfig c = small(21);
  c.correlated_fraction = 0.1;  // four or so members fail at once, with
  c.correlated_at = 6 * kH;     // a day and a half left to repair
  c.loss = 0.01;
  const SimulationReport r = run(c);
  EXPECT_GT(r.slots_lost, 0u);
  EXPECT_EQ(r.datasets_placed, c.datasets);
  EXPECT_EQ(r.slots_unrepaired, 0u) << "every lost slot rebuilt";
  EXPECT_EQ(r.slots_doubly_held, 0u) << "no slot with two holders once stable";
  EXPECT_EQ(r.slots_rebuilt, r.slots_lost);
  EXPECT_EQ(r.datasets_lost, 0u);
  EXPECT_TRUE(r.views_agree);
}

// Under 1% message loss, at the protocol's default timers: a lost Assign is
// sent again until its holder acknowledges with a heartbeat, so every
// dataset is fully placed within hours (not after the watchers' days of
// waiting for a silent holder), and the slots of a correlated failure are
// rebuilt, once each, with no dataset lost. The same run without re-sends
// leaves datasets unplaced, so the test cannot pass vacuously.
TEST(Simulator, EverySlotPlacedAndRepairedUnderMessageLoss) {
  for (std::uint32_t tries : {6u, 0u}) {
    SimulationConfig c;
    c.seed = 62;
    c.members = 100;
    c.datasets = 1000;
    c.established = true;
    c.duration = 2 * kD;
    c.loss = 0.01;
    c.correlated_fraction = 0.02;  // each member fails with this chance, a day after placement
    c.correlated_at = 1 * kD;
    c.protocol.assign_tries = tries;
    const SimulationReport r = run(c);
    if (tries == 0) {
      EXPECT_LT(r.datasets_placed, c.datasets) << "no Assign lost: the test proves nothing";
      continue;
    }
    EXPECT_EQ(r.datasets_placed, c.datasets) << "every slot placed";
    EXPECT_GT(r.slots_lost, 0u);
    EXPECT_EQ(r.slots_rebuilt, r.slots_lost) << "every lost slot rebuilt";
    EXPECT_EQ(r.slots_unrepaired, 0u);
    EXPECT_EQ(r.slots_doubly_held, 0u);
    EXPECT_EQ(r.datasets_lost, 0u);
    // (Rebuilds completed twice are not checked: under loss a few still
    // happen, the worse holder then steps down; docs/simulator.md. Seeds
    // 1-16 of this configuration, with a settling period after the loss:
    // tests/sim/sweep_test.cpp.)
  }
}

TEST(Simulator, NoDatasetLostWhileAtMostMSlotsFailBetweenRepairs) {
  // Failures spaced far wider than detection plus repair: each dataset sees
  // at most one failure at a time, well within M = 2.
  SimulationConfig c = small(31);
  c.duration = 3 * kD;
  c.mttf = 40 * kD;  // 40 members: a failure every day, repaired within hours
  c.loss = 0.01;
  const SimulationReport r = run(c);
  EXPECT_GT(r.failures, 0u);
  EXPECT_GT(r.slots_lost, 0u);
  EXPECT_EQ(r.datasets_lost, 0u);
  EXPECT_EQ(r.slots_unrepaired, 0u);
}

}  // namespace
}  // namespace codex::sim

namespace codex::sim {
namespace {

// Failures sped up (members fail for good at a mean of a day) so that
// datasets of 2+1 slots are lost often enough to count. The model gets the
// delays the simulator measured: the mean time from a slot's loss to the
// start of its repair (detection), and from there to the slot stored again
// (repair). The share of datasets lost must lie in the 99% confidence
// interval around the model's prediction, widened because datasets share
// members (their losses are not independent).
TEST(Simulator, AgreesWithTheDurabilityModel) {
  SimulationConfig c = small(41);
  c.members = 90;
  c.datasets = 300;
  c.k = 2;
  c.m = 1;
  c.duration = 2 * kD;
  c.mttf = 1 * kD;
  c.sample_interval = 10 * kMin;
  const SimulationReport r = run(c);
  ASSERT_GT(r.slots_rebuilt, 100u);
  ASSERT_GT(r.repair_done_mean_s, r.repair_start_mean_s);
  DurabilityParameters p;
  p.k = c.k;
  p.m = c.m;
  p.l0 = c.l0;
  p.mttf_hours = double(c.mttf) / kH;
  p.proof_interval_hours = r.repair_start_mean_s / 3600;
  p.mttr_hours = (r.repair_done_mean_s - r.repair_start_mean_s) / 3600;
  p.horizon_hours = double(c.duration - c.publish_at - c.publish_spread / 2) / kH;
  auto model = analyse(p);
  ASSERT_TRUE(model.ok());
  const double n = double(r.datasets_placed), expected = model->loss_probability;
  const double observed = double(r.datasets_lost) / n;
  // Each member holds datasets*(k+m)/members slots: losses come in clumps of
  // about that size, which inflates the variance by about as much.
  const double clump = double(c.datasets) * (c.k + c.m) / c.members;
  const double sd = std::sqrt(expected * (1 - expected) / n * clump);
  std::printf("datasets lost: %llu of %llu (%.4f); model: %.4f +- %.4f (detection %.0f s, repair %.0f s)\n",
              (unsigned long long)r.datasets_lost, (unsigned long long)r.datasets_placed, observed, expected, 2.576 * sd,
              r.repair_start_mean_s, r.repair_done_mean_s - r.repair_start_mean_s);
  EXPECT_NEAR(observed, expected, 2.576 * sd)
      << "lost " << r.datasets_lost << " of " << r.datasets_placed << "; model " << expected << " with detection "
      << r.repair_start_mean_s << " s, repair " << r.repair_done_mean_s - r.repair_start_mean_s << " s";
  EXPECT_GT(r.datasets_lost, 0u);
}

}  // namespace
}  // namespace codex::sim
