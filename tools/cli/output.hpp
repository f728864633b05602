// Output files for the tools (`-o FILE`; `-` or no -o is stdout).
//
// A regular file (new or existing) is written to a temporary file beside it
// and renamed into place only on success, so a failed or interrupted run
// never leaves a misleading FILE behind; an existing file keeps its mode (and
// owner, where the caller may set it). Symbolic links are followed: the file
// they name is replaced, not the link. Anything that is not a regular file
// (a device, a FIFO, a socket, a terminal) is written through, never replaced.
// SIGINT, SIGTERM and SIGHUP remove the temporary file before the process
// dies. Like cp or a shell redirect, the output is not fsynced unless asked
// (--sync): the repository is where durability is promised.
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
  // "" or "-": stdout. With `sync`, commit() makes the bytes durable.
  static Result<OutputFile> open(const std::string& path, bool sync = false);
  OutputFile(OutputFile&& other) noexcept
      : path_(std::move(other.path_)), temporary_(std::exchange(other.temporary_, {})),
        sink_(std::move(other.sink_)), fd_(std::exchange(other.fd_, -1)), committed_(other.committed_),
        sync_(other.sync_), slot_(std::exchange(other.slot_, -1)) {}
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile();  // removes the temporary file unless committed
  ByteSink& sink() { return *sink_; }
  bool is_stdout() const { return path_.empty(); }
  // True when bytes already written can be patched (a regular file written
  // through a temporary file); false for stdout, devices, FIFOs, sockets.
  bool seekable() const { return !temporary_.empty(); }
  // Overwrites bytes already written (seekable outputs only).
  Status patch(std::uint64_t offset, ByteView bytes);
  Status commit();  // flush (fsync with --sync), rename into place

 private:
  OutputFile() = default;
  std::string path_, temporary_;
  std::unique_ptr<ByteSink> sink_;
  int fd_ = -1;
  bool committed_ = false;
  bool sync_ = false;
  int slot_ = -1;  // this temporary file's entry in the signal-cleanup table
};

// True when stdout is a terminal (binary output is refused there).
bool stdout_is_terminal();

// True when stdout is a pipe or socket whose reader has gone (`| head`): the
// tool then ends as Unix filters do, by SIGPIPE, without an error message.
bool stdout_reader_gone();

}  // namespace codex::cli
