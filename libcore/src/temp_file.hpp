// An anonymous temporary file for spilling blocks to disk instead of memory
// (O_TMPFILE where the filesystem has it, else a file unlinked at once), so it
// disappears however the process ends. Made by an Env (env.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "codex/bytes.hpp"
#include "codex/env.hpp"
#include "codex/error.hpp"

namespace codex {

class TempFile {
 public:
  static Result<TempFile> create(const std::string& dir, Env& env = system_env());
  Status write_at(std::uint64_t offset, ByteView data) { return file_->write_at(offset, data); }
  Status read_at(std::uint64_t offset, MutableByteView out) { return file_->read_at(offset, out); }
  File& file() { return *file_; }

 private:
  explicit TempFile(std::unique_ptr<File> file) : file_(std::move(file)) {}
  std::unique_ptr<File> file_;
};

}  // namespace codex
