// Work that only one thread may do at a time, handed in by many: writing
// pieces of one output file that the pool's threads produce (coded runs,
// decoded groups). A thread queues its item and, unless another thread is at
// it, does every item that waits; otherwise it goes back to its own work.
// Two threads writing into one file wait on its lock, spinning (5 % of an
// encode's CPU time at 4+2), where the one that finds it taken can code or
// decode meanwhile; and no thread of its own takes turns with the pool's on
// the cores.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <optional>

namespace codex {

template <typename Item>
class TakeTurns {
 public:
  explicit TakeTurns(std::function<void(Item&)> work) : work_(std::move(work)) {}

  // Queues `item`, then does what waits unless another thread is at it.
  void offer(Item item) {
    {
      std::lock_guard lock(mutex_);
      waiting_.push_back(std::move(item));
    }
    drain();
  }

  // Does the waiting items, and any offered meanwhile. False, at once, when
  // another thread is doing them: that thread does what waits before it
  // stops, so an item offered before drain() returns is always done.
  bool drain() {
    for (;;) {
      {
        std::unique_lock working(working_, std::try_to_lock);
        if (!working.owns_lock()) return false;
        while (std::optional<Item> item = next()) work_(*item);
      }
      // An item offered after the last look, while the work was still taken,
      // was not done by the thread that offered it: look again.
      std::lock_guard lock(mutex_);
      if (waiting_.empty()) return true;
    }
  }

 private:
  std::optional<Item> next() {
    std::lock_guard lock(mutex_);
    if (waiting_.empty()) return std::nullopt;
    std::optional<Item> item(std::move(waiting_.front()));
    waiting_.pop_front();
    return item;
  }

  std::function<void(Item&)> work_;
  std::mutex working_;  // held by the thread doing the work
  std::mutex mutex_;    // guards waiting_
  std::deque<Item> waiting_;
};

}  // namespace codex
