// Output files for the tools: `-o FILE` is written to a temporary file in the
// same directory and renamed into place only on success, so a failed run
// never leaves a misleading FILE behind; `-` or no -o is stdout.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "codex/error.hpp"
#include "codex/io.hpp"

namespace codex::cli {

class OutputFile {
 public:
  static Result<OutputFile> open(const std::string& path);  // "" or "-": stdout
  OutputFile(OutputFile&& other) noexcept
      : path_(std::move(other.path_)), temporary_(std::exchange(other.temporary_, {})),
        sink_(std::move(other.sink_)), fd_(std::exchange(other.fd_, -1)), committed_(other.committed_) {}
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile();  // removes the temporary file unless committed
  ByteSink& sink() { return *sink_; }
  bool is_stdout() const { return path_.empty(); }
  // Overwrites bytes already written (a file only: stdout cannot seek).
  Status patch(std::uint64_t offset, ByteView bytes);
  Status commit();  // flush, fsync, rename into place

 private:
  OutputFile() = default;
  std::string path_, temporary_;
  std::unique_ptr<ByteSink> sink_;
  int fd_ = -1;
  bool committed_ = false;
};

// True when stdout is a terminal (binary output is refused there).
bool stdout_is_terminal();

}  // namespace codex::cli
