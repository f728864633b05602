// One persistent thread that runs the jobs handed to it, one at a time, in
// the order given: the reader thread of a stream (read_ahead.hpp) and the
// writer thread of a buffered file sink. Started once per stream rather than
// once per batch, so a 512 MiB stream costs one thread, not hundreds.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace codex {

class BackgroundThread {
 public:
  BackgroundThread();
  ~BackgroundThread();  // runs the jobs already posted, then joins
  BackgroundThread(const BackgroundThread&) = delete;
  BackgroundThread& operator=(const BackgroundThread&) = delete;

  // Queues a job; it must not throw (errors travel as values it stores).
  void post(std::function<void()> job);
  // Returns once every job posted so far has run.
  void wait_idle();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<std::function<void()>> jobs_;
  bool busy_ = false, stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace codex
