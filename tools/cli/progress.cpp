// The progress line; see progress.hpp.
#include "cli/progress.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace codex::cli {
namespace {

bool stdout_is_pipe() {
  struct stat st;
  return ::fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
}

}  // namespace

const char* stderr_line_start() {
  static const bool terminal = ::isatty(STDERR_FILENO) == 1;
  return terminal ? "\r\033[K" : "";
}

ProgressLine::ProgressLine(std::string name, bool quiet)
    : name_(std::move(name)),
      enabled_(!quiet && ::isatty(STDERR_FILENO) == 1 && !stdout_is_pipe()),
      last_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::clear() {
  if (shown_) std::fputs("\r\033[K", stderr);
  shown_ = false;
}

void ProgressLine::update(std::uint64_t bytes) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  shown_ = true;
  std::fprintf(stderr, "\r%s: %.1f MiB\033[K", name_.c_str(), static_cast<double>(bytes) / (1 << 20));
  std::fflush(stderr);
}

}  // namespace codex::cli
