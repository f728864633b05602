// A progress line on stderr ("codex-put: 512 MiB"), shown only when stderr is
// a terminal and -q was not given, redrawn at most five times a second and
// erased when the work ends, so logs and pipes never see it. In a pipeline
// only the last tool (whose stdout is not a pipe) shows one, so that tools do
// not draw over each other's line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace codex::cli {

class ProgressLine {
 public:
  ProgressLine(std::string name, bool quiet);
  ~ProgressLine();  // erases the line
  void update(std::uint64_t bytes);
  void clear();  // before printing another message on stderr

 private:
  std::string name_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace codex::cli
