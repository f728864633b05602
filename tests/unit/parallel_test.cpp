#include "codex/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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

TEST(WorkerPool, ConcurrentCallersAllFinish) {
  WorkerPool pool(2);
  std::vector<std::thread> callers;
  std::atomic<int> total{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int round = 0; round < 200; ++round) pool.for_each(7, [&](std::size_t) { total++; });
    });
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(total.load(), 4 * 200 * 7);
}

TEST(WorkerPool, NestedCallsRunInline) {
  WorkerPool pool(2);
  std::atomic<int> total{0};
  pool.for_each(4, [&](std::size_t) { pool.for_each(5, [&](std::size_t) { total++; }); });
  EXPECT_EQ(total.load(), 20);
}

}  // namespace codex
