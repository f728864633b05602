// The simulator tests' shared configurations: the small community with
// the protocol's timers scaled down, and its healed-partition variant, run
// at one seed by simulator_test.cpp and at thirty by sweep_test.cpp.
#pragma once

#include <cstdint>

#include "codex/sim/simulator.hpp"

namespace codex::sim::test_configs {

constexpr Time kS = 1000, kMin = 60 * kS, kH = 60 * kMin, kD = 24 * kH;

// 40 members, 60 datasets of 4+2, a heartbeat every 10 minutes, so that a
// simulated day holds many probe and heartbeat rounds.
inline SimulationConfig small(std::uint64_t seed) {
  SimulationConfig c;
  c.seed = seed;
  c.members = 40;
  c.datasets = 60;
  c.k = 4;
  c.m = 2;
  c.duration = 2 * kD;
  c.protocol.probe_interval = 30 * kS;
  c.protocol.probe_timeout = 5 * kS;
  c.protocol.sync_interval = 5 * kMin;
  c.protocol.heartbeat_interval = 10 * kMin;
  c.protocol.repair_backoff = 20 * kS;
  c.protocol.repair_timeout = 2 * kH;
  c.join_spread = 5 * kMin;
  c.publish_at = 10 * kMin;
  c.publish_spread = 20 * kMin;
  c.slot_bytes = 8 << 20;
  c.sample_interval = 30 * kS;
  return c;
}

// The small community for a day under 5% message loss to the end, a third
// of the members cut off for two hours, then half of them for half an hour.
inline SimulationConfig healed_partitions(std::uint64_t seed) {
  SimulationConfig c = small(seed);
  c.duration = 1 * kD;
  c.loss = 0.05;
  c.partitions.push_back(Partition{2 * kH, 2 * kH, 0.3});
  c.partitions.push_back(Partition{8 * kH, 30 * kMin, 0.5});
  return c;
}

}  // namespace codex::sim::test_configs
