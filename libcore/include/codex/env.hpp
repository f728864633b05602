// The world the repository touches, behind one narrow interface in LevelDB's
// Env style: files (positioned reads and writes, sync, truncate, an
// exclusive lock), directories (create, sync), temporary files, a clock and
// randomness. The system Env is the real thing; tests wrap it to inject
// faults (a failing fsync, a short write, a full disk at any step) without
// ulimit tricks, and a simulator may give a virtual clock.
//
// SQLite's own I/O goes through SQLite's VFS, not through here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/random.hpp"

namespace codex {

// An open file. Errors name the file; a read past the end is Errc::corrupt.
class File {
 public:
  virtual ~File() = default;
  virtual Status read_at(std::uint64_t offset, MutableByteView out) = 0;   // all of out
  virtual Status write_at(std::uint64_t offset, ByteView data) = 0;        // all of data
  virtual Status sync() = 0;                                               // data to stable storage
  // A hint that [offset, offset + size) will be synced soon: the system file
  // starts writing it to the disk now (sync_file_range), so that sync() finds
  // less to wait for. Promises nothing; only sync() makes data durable.
  virtual void start_writeback(std::uint64_t offset, std::uint64_t size) {
    (void)offset;
    (void)size;
  }
  virtual Status truncate(std::uint64_t size) = 0;
  virtual Result<std::uint64_t> size() = 0;
  // An exclusive advisory lock (flock), held until the file is closed; false
  // when another open file holds it.
  virtual Result<bool> try_lock() = 0;
  // Waits for an advisory lock (flock), held until the file is closed:
  // writers hold DIR/gc.lock shared, gc's sweep exclusive.
  enum class Lock { shared, exclusive };
  virtual Status lock(Lock kind) = 0;
  virtual const std::string& path() const = 0;
  // The system's file descriptor, where there is one (-1 otherwise): a pipe
  // sink can then take the file's bytes without copying them (splice).
  virtual int descriptor() const { return -1; }
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t unix_seconds() = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  enum class Open { read, read_write, read_write_create };
  // Errc::not_found when a file opened for reading is not there.
  virtual Result<std::unique_ptr<File>> open(const std::string& path, Open mode) = 0;
  virtual Status create_directories(const std::string& path) = 0;
  // Errc::not_found when there is no such file.
  virtual Status remove_file(const std::string& path) = 0;
  // Whether this process may write `path` (a repository another user owns,
  // or on a read-only mount, is opened read-only).
  virtual bool writable(const std::string& path) = 0;
  virtual Status sync_directory(const std::string& path) = 0;
  // An anonymous file in `dir` that disappears however the process ends.
  virtual Result<std::unique_ptr<File>> temp_file(const std::string& dir) = 0;
  virtual Clock& clock() = 0;
  virtual Random& random() = 0;
};

// The real world: POSIX files, the system clock, the OS's CSPRNG. Thread-safe.
Env& system_env();

}  // namespace codex
