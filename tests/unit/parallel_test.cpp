#include "codex/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace codex {

TEST(WorkerPool, RunsEveryItemOnceAcrossManyRounds) {
  WorkerPool pool(3);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::atomic<int>> hits(round % 17);
    pool.for_each(hits.size(), [&](std::size_t i) { hits[i]++; });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(WorkerPool, SingleThreadPoolRunsInline) {
  WorkerPool pool(1);
  EXPECT_EQ(pool.size(), 1u);
  int sum = 0;
  pool.for_each(10, [&](std::size_t i) { sum += static_cast<int>(i); });
  EXPECT_EQ(sum, 45);
}

}  // namespace codex
