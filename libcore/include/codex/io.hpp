// The byte streams the tools read and write: files, pipes, memory. Narrow
// interfaces so the library never touches file descriptors directly and tests
// can feed it memory, truncations and faults.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to out.size() bytes; 0 only at end of stream.
  virtual Result<std::size_t> read_some(MutableByteView out) = 0;
  // Reads exactly out.size() bytes, or fewer only at end of stream (returns count).
  Result<std::size_t> read_full(MutableByteView out);
  virtual std::string name() const = 0;  // for error messages: a path or "stdin"
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status write(ByteView data) = 0;  // all of it, or an error
  virtual Status flush() { return {}; }
  virtual std::string name() const = 0;
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
