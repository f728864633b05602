// An anonymous temporary file for spilling blocks to disk instead of memory
// (O_TMPFILE where the filesystem has it, else a file unlinked at once), so it
// disappears however the process ends.
#pragma once

#include <cstdint>
#include <string>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex {

class TempFile {
 public:
  static Result<TempFile> create(const std::string& dir);
  TempFile(TempFile&& other) noexcept : fd_(other.fd_), dir_(std::move(other.dir_)) { other.fd_ = -1; }
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();
  Status write_at(std::uint64_t offset, ByteView data);
  Status read_at(std::uint64_t offset, MutableByteView out);

 private:
  TempFile(int fd, std::string dir) : fd_(fd), dir_(std::move(dir)) {}
  int fd_;
  std::string dir_;
};

}  // namespace codex
