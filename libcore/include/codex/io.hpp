// The byte streams the tools read and write: files, pipes, memory. Narrow
// interfaces so the library never touches file descriptors directly and tests
// can feed it memory, truncations and faults.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex {

class File;  // env.hpp

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to out.size() bytes; 0 only at end of stream.
  virtual Result<std::size_t> read_some(MutableByteView out) = 0;
  // Reads exactly out.size() bytes, or fewer only at end of stream (returns count).
  Result<std::size_t> read_full(MutableByteView out);
  virtual std::string name() const = 0;  // for error messages: a path or "stdin"

  // A source over a regular file can also read at a position (bytes from
  // where the source started), from any thread, without moving the stream:
  // the encoder reads its data blocks a second time this way instead of
  // spilling them. Pipes and memory cannot (read_at is then Errc::failure).
  virtual bool can_read_at() const { return false; }
  virtual Status read_at(std::uint64_t offset, MutableByteView out);
  // How many bytes read_at can read (from where the source started), for a
  // source that can read at positions: the encoder finds a file's last
  // section (the manifest) from it. Empty when unknown.
  virtual std::optional<std::uint64_t> positional_size() const { return std::nullopt; }
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status write(ByteView data) = 0;  // all of it, or an error
  virtual Status flush() { return {}; }
  virtual std::string name() const = 0;

  // A sink over a regular file can also write at a position (bytes from
  // where the sink started), from any thread, past the end too (leaving a
  // hole to fill later): the encoder puts parity in its place this way
  // instead of spilling it. flush() first: positioned writes bypass the
  // buffer. Pipes, terminals and files opened for appending cannot
  // (write_at is then Errc::failure).
  virtual bool can_write_at() const { return false; }
  virtual Status write_at(std::uint64_t offset, ByteView data);
  // Cuts what was written at positions back to `length` bytes from where the
  // sink started: a get that fails midway keeps only the correct prefix.
  virtual Status truncate_at(std::uint64_t length);

  // A sink over a regular file that this process may read can also read
  // back what it wrote (bytes from where the sink started; flush() first),
  // from any thread: an encoder fed by a pipe reads its data blocks a second
  // time from its output this way instead of spilling them. can_read_back()
  // opens the way on first use (false: read_back is then Errc::failure).
  virtual bool can_read_back() { return false; }
  virtual Status read_back(std::uint64_t offset, MutableByteView out);

  // Writes `size` bytes of `file` from `offset`, as write() would (after
  // everything written before). A sink over a pipe takes them without their
  // passing through this process (splice: the pipe refers to the file's
  // pages, nothing is copied): get sends the blocks it spilled this way.
  // Any other sink reads them and writes them.
  virtual Status write_from(File& file, std::uint64_t offset, std::uint64_t size);
};

// Files and pipes. `open_input("-")` is stdin; `open_output("-")` is stdout.
Result<std::unique_ptr<ByteSource>> open_input(const std::string& path);
Result<std::unique_ptr<ByteSink>> open_output(const std::string& path);
std::unique_ptr<ByteSource> fd_source(int fd, std::string name);
std::unique_ptr<ByteSink> fd_sink(int fd, std::string name);  // buffered; flush() to push

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(Bytes data, std::string name = "memory") : data_(std::move(data)), name_(std::move(name)) {}
  Result<std::size_t> read_some(MutableByteView out) override;
  std::string name() const override { return name_; }

 private:
  Bytes data_;
  std::size_t pos_ = 0;
  std::string name_;
};

class MemorySink : public ByteSink {
 public:
  Status write(ByteView data) override {
    bytes.insert(bytes.end(), data.begin(), data.end());
    return {};
  }
  std::string name() const override { return "memory"; }
  Bytes bytes;
};

// The most one read or write system call moves: 15 blocks of 64 KiB. On the
// machines measured here, writes of 1 MiB or more (1 GiB in 1 MiB pwrites:
// 3.7 s; in 960 KiB pwrites: 0.3 s) take a slow path in the kernel, so every
// I/O loop in libcore splits at this size and buffers are this large.
inline constexpr std::size_t kMaxSyscallBytes = 15 * 65536;

// Positioned reads and writes of whole ranges, split at kMaxSyscallBytes and
// retried on EINTR; `name` is the file's name for errors. Reading past the
// end is Errc::corrupt ("truncated"): callers read only what they wrote.
Status pread_full(int fd, std::uint8_t* out, std::size_t size, std::uint64_t offset, const std::string& name);
Status pwrite_full(int fd, const std::uint8_t* data, std::size_t size, std::uint64_t offset, const std::string& name);

// An Errc::io error from errno, naming the operation and its subject.
Error errno_error(const char* operation, const std::string& subject);

}  // namespace codex
