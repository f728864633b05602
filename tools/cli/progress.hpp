// A progress line on stderr ("codex-put: 512 MiB"), shown only when stderr is
// a terminal and -q was not given, redrawn at most five times a second and
// erased when the work ends, so logs and pipes never see it. In a pipeline
// only the last tool (whose stdout is not a pipe) shows one, so that tools do
// not draw over each other's line.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "codex/io.hpp"

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

// What a line on stderr starts with: on a terminal, a carriage return and
// erase-line, so that a message never lands in the middle of another tool's
// progress line (chunk's CID while put draws its own, in `chunk | put`).
const char* stderr_line_start();

// A source that reports the bytes read from it: progress counts the input
// itself, so that its total can never exceed the input (block sizes, with
// padding, would).
class CountingSource : public ByteSource {
 public:
  CountingSource(ByteSource& inner, ProgressLine& progress) : inner_(inner), progress_(progress) {}
  Result<std::size_t> read_some(MutableByteView out) override {
    auto n = inner_.read_some(out);
    if (n) progress_.update(total_ += *n);
    return n;
  }
  std::string name() const override { return inner_.name(); }

 private:
  ByteSource& inner_;
  ProgressLine& progress_;
  std::uint64_t total_ = 0;
};

}  // namespace codex::cli
