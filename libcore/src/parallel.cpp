// The worker pool; see parallel.hpp.
#include "codex/parallel.hpp"
#include "sha256_x16.hpp"

#include <algorithm>
#include <cstdlib>

namespace {
// True on the pool's workers, and on a thread while its for_each runs.
thread_local bool in_pool_job = false;
}  // namespace

namespace codex {

WorkerPool::WorkerPool(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void WorkerPool::drain(std::unique_lock<std::mutex>& lock) {
  while (next_ < count_) {
    std::size_t item = next_++;
    const auto* job = job_;
    lock.unlock();
    (*job)(item);
    lock.lock();
    if (++finished_ == count_) done_.notify_all();
  }
}

void WorkerPool::work() {
  in_pool_job = true;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || next_ < count_; });
    if (stop_) return;
    drain(lock);
  }
}

void WorkerPool::for_each(std::size_t count, const std::function<void(std::size_t)>& fn) {
  if (count == 0) return;
  std::unique_lock<std::mutex> owner;
  if (!in_pool_job && !workers_.empty() && count > 1) owner = std::unique_lock(owner_, std::try_to_lock);
  if (!owner.owns_lock()) {
    for (std::size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  in_pool_job = true;
  struct Reset {
    ~Reset() { in_pool_job = false; }
  } reset;
  std::unique_lock lock(mutex_);
  job_ = &fn;
  next_ = 0;
  count_ = count;
  finished_ = 0;
  wake_.notify_all();
  drain(lock);
  done_.wait(lock, [&] { return finished_ == count_; });
  job_ = nullptr;
  count_ = 0;
  next_ = 0;
}

WorkerPool& default_pool() {
  static WorkerPool pool;
  return pool;
}

void sha256_parallel(std::span<const ByteView> inputs, std::span<Digest> out, WorkerPool& pool) {
  if (out.size() != inputs.size()) std::abort();  // a caller's bug
  // One task per run that sha256_each hashes together (16 on AVX-512, 2 on
  // SHA-NI), shorter where there are too few runs for every thread.
  const std::size_t width = sha256_run_per_task(inputs.size(), pool.size());
  pool.for_each((inputs.size() + width - 1) / width, [&](std::size_t task) {
    const std::size_t first = width * task, count = std::min(width, inputs.size() - first);
    sha256_each(inputs.subspan(first, count), out.subspan(first, count));
  });
}

}  // namespace codex
