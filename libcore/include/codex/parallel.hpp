// Data parallelism for the hot loops (hashing, coding): a fixed pool of
// worker threads and one verb, for_each(count, fn), which runs fn(0..count-1)
// across the workers and the calling thread and returns when all are done.
// Coarse-grained by design: callers hand it batches of blocks, not bytes.
//
// Any thread may call for_each. One call at a time has the workers; a call
// made while another holds them (another thread's, or a nested one from
// inside fn) runs its items on its own thread, so callers never wait on each
// other and nesting cannot deadlock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/sha256.hpp"

namespace codex {

class WorkerPool {
 public:
  // threads == 0: one per core. The calling thread counts as one of them.
  explicit WorkerPool(unsigned threads = 0);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }
  void for_each(std::size_t count, const std::function<void(std::size_t)>& fn);

 private:
  void work();
  void drain(std::unique_lock<std::mutex>& lock);

  std::vector<std::thread> workers_;
  std::mutex owner_;  // held by the for_each call that has the workers
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t next_ = 0, count_ = 0, finished_ = 0;
  bool stop_ = false;
};

// The process-wide pool (created on first use).
WorkerPool& default_pool();

// out[i] = sha256(inputs[i]) on every core, neighbours two at a time
// (sha256_each): the block CIDs of a batch.
void sha256_parallel(std::span<const ByteView> inputs, std::span<Digest> out, WorkerPool& pool = default_pool());

}  // namespace codex
