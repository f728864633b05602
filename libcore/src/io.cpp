// Files and pipes behind ByteSource/ByteSink. Sources and sinks on file
// descriptors are buffered (960 KiB) so that stream parsers can read small
// pieces cheaply; large reads and writes bypass the buffer.
#include "codex/io.hpp"

#include "codex/env.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "background_thread.hpp"

namespace codex {

Error errno_error(const char* operation, const std::string& subject) {
  int saved = errno;
  return make_error(Errc::io, "cannot {} '{}': {}", operation, subject, std::strerror(saved));
}

Status pread_full(int fd, std::uint8_t* out, std::size_t size, std::uint64_t offset, const std::string& name) {
  while (size > 0) {
    ssize_t n = ::pread(fd, out, std::min(size, kMaxSyscallBytes), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read", name);
    }
    if (n == 0) return make_error(Errc::corrupt, "'{}' is truncated at offset {}", name, offset);
    out += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Status pwrite_full(int fd, const std::uint8_t* data, std::size_t size, std::uint64_t offset, const std::string& name) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, std::min(size, kMaxSyscallBytes), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write", name);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Result<std::size_t> ByteSource::read_full(MutableByteView out) {
  std::size_t done = 0;
  while (done < out.size()) {
    CODEX_TRY_ASSIGN(std::size_t n, read_some(out.subspan(done)));
    if (n == 0) break;
    done += n;
  }
  return done;
}

Status ByteSource::read_at(std::uint64_t, MutableByteView) {
  return make_error(Errc::failure, "'{}' cannot be read at a position", name());
}

Status ByteSink::write_at(std::uint64_t, ByteView) {
  return make_error(Errc::failure, "'{}' cannot be written at a position", name());
}

Status ByteSink::truncate_at(std::uint64_t) {
  return make_error(Errc::failure, "'{}' cannot be truncated", name());
}

Status ByteSink::read_back(std::uint64_t, MutableByteView) {
  return make_error(Errc::failure, "'{}' cannot be read back", name());
}

Status ByteSink::write_from(File& file, std::uint64_t offset, std::uint64_t size) {
  Bytes buffer(static_cast<std::size_t>(std::min<std::uint64_t>(size, kMaxSyscallBytes)));
  while (size > 0) {
    const MutableByteView part(buffer.data(), static_cast<std::size_t>(std::min<std::uint64_t>(size, buffer.size())));
    CODEX_TRY(file.read_at(offset, part));
    CODEX_TRY(write(part));
    offset += part.size();
    size -= part.size();
  }
  return {};
}

Result<std::size_t> MemorySource::read_some(MutableByteView out) {
  std::size_t n = std::min(out.size(), data_.size() - pos_);
  if (n != 0) std::memcpy(out.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

namespace {

constexpr std::size_t kBufferSize = kMaxSyscallBytes;
// Reads of at least kDirectRead bytes that the buffer cannot serve go
// straight to the caller's memory, with kLookahead bytes read ahead.
constexpr std::size_t kDirectRead = 16 << 10;
constexpr std::size_t kLookahead = 4 << 10;

// Where a regular file descriptor stands now: the origin of read_at/write_at.
// Empty for anything else (pipes, terminals, sockets, devices) and for files
// opened for appending, where pwrite ignores the offset.
std::optional<std::uint64_t> positional_origin(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_APPEND) != 0) return std::nullopt;
  const off_t here = ::lseek(fd, 0, SEEK_CUR);
  if (here < 0) return std::nullopt;
  return static_cast<std::uint64_t>(here);
}

bool is_pipe(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

class FdSource : public ByteSource {
 public:
  FdSource(int fd, std::string name, bool owned)
      : fd_(fd), name_(std::move(name)), owned_(owned), origin_(positional_origin(fd)) {}
  ~FdSource() override {
    if (owned_) ::close(fd_);
  }

  Result<std::size_t> read_some(MutableByteView out) override {
    if (out.empty()) return std::size_t{0};
    if (out.size() >= kDirectRead && end_ - begin_ < out.size()) return read_past_buffer(out);
    if (begin_ == end_) {
      CODEX_TRY_ASSIGN(std::size_t n, raw_read(MutableByteView(buffer_.data(), buffer_.size())));
      begin_ = 0;
      end_ = n;
      if (n == 0) return std::size_t{0};
    }
    std::size_t n = std::min(out.size(), end_ - begin_);
    std::memcpy(out.data(), buffer_.data() + begin_, n);
    begin_ += n;
    return n;
  }

  std::string name() const override { return name_; }

  bool can_read_at() const override { return origin_.has_value(); }
  Status read_at(std::uint64_t offset, MutableByteView out) override {
    if (!origin_) return ByteSource::read_at(offset, out);
    return pread_full(fd_, out.data(), out.size(), *origin_ + offset, name_);
  }
  std::optional<std::uint64_t> positional_size() const override {
    struct stat st;
    if (!origin_ || ::fstat(fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) < *origin_) return std::nullopt;
    return static_cast<std::uint64_t>(st.st_size) - *origin_;
  }

 private:
  // A large read (a block's data, as a rule): what the buffer holds, then the
  // rest straight into `out` and, in the same system call, the next
  // kLookahead bytes (the next section's header) into the buffer. The data
  // is copied once, by the kernel, rather than into the buffer and out again.
  Result<std::size_t> read_past_buffer(MutableByteView out) {
    const std::size_t held = end_ - begin_;
    if (held > 0) std::memcpy(out.data(), buffer_.data() + begin_, held);
    begin_ = end_ = 0;
    const std::size_t want = std::min(out.size() - held, kMaxSyscallBytes);
    iovec parts[2] = {{out.data() + held, want}, {buffer_.data(), kLookahead}};
    for (;;) {
      ssize_t n = ::readv(fd_, parts, 2);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read", name_);
      const std::size_t got = static_cast<std::size_t>(n);
      if (got > want) end_ = got - want;
      return held + std::min(got, want);
    }
  }

  Result<std::size_t> raw_read(MutableByteView out) {
    for (;;) {
      ssize_t n = ::read(fd_, out.data(), std::min(out.size(), kMaxSyscallBytes));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno == EINTR) continue;
      return errno_error("read", name_);
    }
  }

  int fd_;
  std::string name_;
  bool owned_;
  std::optional<std::uint64_t> origin_;
  Bytes buffer_ = Bytes(kBufferSize);
  std::size_t begin_ = 0, end_ = 0;
};

// Writes behind: each full buffer goes to a writer thread (one per sink,
// started on the first full buffer) while the caller fills the next, so the
// system call's copy (into the page cache or a pipe) overlaps the caller's
// work (hashing) instead of following it. Up to kWriteBehindBuffers wait to
// be written: a caller that hands over a batch of blocks (4 MiB) at once
// goes back to hashing at once, instead of waiting for all but one buffer.
// An error of a write behind is reported by the next write or flush.
constexpr std::size_t kWriteBehindBuffers = 6;

class FdSink : public ByteSink {
 public:
  FdSink(int fd, std::string name, bool owned)
      : fd_(fd), name_(std::move(name)), owned_(owned), origin_(positional_origin(fd)), pipe_(is_pipe(fd)) {
    buffer_.reserve(kBufferSize);
  }
  ~FdSink() override {
    (void)settle();
    writer_.reset();
    if (owned_) ::close(fd_);
    if (read_fd_ >= 0 && read_fd_ != fd_) ::close(read_fd_);
  }

  Status write(ByteView data) override {
    if (buffer_.size() + data.size() > kBufferSize) {
      CODEX_TRY(write_behind());
      if (data.size() >= kBufferSize / 2) {
        CODEX_TRY(settle());
        return raw_write(data);
      }
    }
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    return {};
  }

  Status flush() override {
    CODEX_TRY(write_behind());
    return settle();
  }

  std::string name() const override { return name_; }

  bool can_write_at() const override { return origin_.has_value(); }
  Status write_at(std::uint64_t offset, ByteView data) override {
    if (!origin_) return ByteSink::write_at(offset, data);
    if (!buffer_.empty() || writing())
      return make_error(Errc::failure, "'{}': positioned write with buffered bytes not flushed", name_);
    return pwrite_full(fd_, data.data(), data.size(), *origin_ + offset, name_);
  }
  Status truncate_at(std::uint64_t length) override {
    if (!origin_) return ByteSink::truncate_at(length);
    CODEX_TRY(flush());
    if (::ftruncate(fd_, static_cast<off_t>(*origin_ + length)) != 0) return errno_error("truncate", name_);
    return {};
  }

  // Into a pipe, the file's bytes are spliced: after what is buffered and
  // written behind, straight from the file's pages. Where the kernel cannot
  // splice them (EINVAL: a file system without it), they are read and written.
  Status write_from(File& file, std::uint64_t offset, std::uint64_t size) override {
    if (!pipe_ || file.descriptor() < 0) return ByteSink::write_from(file, offset, size);
    CODEX_TRY(flush());
    loff_t from = static_cast<loff_t>(offset);
    while (size > 0) {
      const ssize_t n = ::splice(file.descriptor(), &from, fd_, nullptr,
                                 static_cast<std::size_t>(std::min<std::uint64_t>(size, kMaxSyscallBytes)), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EINVAL) return ByteSink::write_from(file, static_cast<std::uint64_t>(from), size);
      if (n < 0) return errno_error("write", name_);
      if (n == 0) return make_error(Errc::io, "'{}' ended {} bytes early", file.path(), size);
      size -= static_cast<std::uint64_t>(n);
    }
    return {};
  }

  // The descriptor itself when it was opened for reading too; otherwise the
  // same file opened again for reading through /proc/self/fd (a shell's
  // `> file` opens it write-only), where the system and the file's mode allow.
  bool can_read_back() override {
    if (!origin_) return false;
    if (read_fd_ == -2) {
      const int flags = ::fcntl(fd_, F_GETFL);
      if (flags >= 0 && (flags & O_ACCMODE) == O_RDWR) read_fd_ = fd_;
      else read_fd_ = ::open(fmt::format("/proc/self/fd/{}", fd_).c_str(), O_RDONLY | O_CLOEXEC);
      if (read_fd_ < 0) read_fd_ = -1;
    }
    return read_fd_ >= 0;
  }
  Status read_back(std::uint64_t offset, MutableByteView out) override {
    if (!can_read_back()) return ByteSink::read_back(offset, out);
    return pread_full(read_fd_, out.data(), out.size(), *origin_ + offset, name_);
  }

 private:
  // Hands the buffer to the writer thread and takes an empty one, waiting
  // while kWriteBehindBuffers are still to be written.
  Status write_behind() {
    if (buffer_.empty()) return {};
    if (!writer_) writer_ = std::make_unique<BackgroundThread>();
    Bytes next;
    {
      std::unique_lock lock(mutex_);
      written_.wait(lock, [this] { return in_flight_ < kWriteBehindBuffers; });
      if (!behind_.ok()) return behind_;
      ++in_flight_;
      if (!spare_.empty()) {
        next = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    if (next.capacity() == 0) next.reserve(kBufferSize);
    writer_->post([this, full = std::move(buffer_)]() mutable {
      Status status = raw_write(full);
      full.clear();
      std::lock_guard lock(mutex_);
      if (behind_.ok()) behind_ = std::move(status);
      spare_.push_back(std::move(full));
      --in_flight_;
      written_.notify_all();
    });
    buffer_ = std::move(next);
    return {};
  }

  bool writing() {
    std::lock_guard lock(mutex_);
    return in_flight_ > 0;
  }

  // Waits for the writes behind; their first error, if any.
  Status settle() {
    if (writer_) writer_->wait_idle();
    std::lock_guard lock(mutex_);
    return behind_;
  }

  Status raw_write(ByteView data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), std::min(data.size(), kMaxSyscallBytes));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error("write", name_);
      }
      data = data.subspan(static_cast<std::size_t>(n));
    }
    return {};
  }

  int fd_;
  std::string name_;
  bool owned_;
  std::optional<std::uint64_t> origin_;
  bool pipe_;     // write_from splices
  Bytes buffer_;  // being filled
  std::mutex mutex_;  // guards the members below, shared with the writer thread
  std::condition_variable written_;
  std::size_t in_flight_ = 0;  // buffers handed over, not yet written
  std::vector<Bytes> spare_;   // written buffers, for reuse
  Status behind_;              // the first error of a write behind
  std::unique_ptr<BackgroundThread> writer_;
  int read_fd_ = -2;  // for read_back: -2 not looked for yet, -1 none
};

// A pipe's default 64 KiB buffer makes the two ends of `codex-chunk |
// codex-put` wake each other every 64 KiB; a larger one (up to the system's
// pipe-max-size) lets them run in batches. Failure is harmless.
void widen_pipe(int fd) {
#ifdef F_SETPIPE_SZ
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(kMaxSyscallBytes + 65536));
#endif
}

}  // namespace

std::unique_ptr<ByteSource> fd_source(int fd, std::string name) {
  widen_pipe(fd);
  return std::make_unique<FdSource>(fd, std::move(name), false);
}

std::unique_ptr<ByteSink> fd_sink(int fd, std::string name) {
  widen_pipe(fd);
  return std::make_unique<FdSink>(fd, std::move(name), false);
}

Result<std::unique_ptr<ByteSource>> open_input(const std::string& path) {
  if (path == "-") return fd_source(STDIN_FILENO, "stdin");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const bool missing = errno == ENOENT;
    Error error = errno_error("open", path);
    if (missing) error.code = Errc::not_found;
    return error;
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ByteSource>(std::make_unique<FdSource>(fd, path, true));
}

Result<std::unique_ptr<ByteSink>> open_output(const std::string& path) {
  if (path == "-") return fd_sink(STDOUT_FILENO, "stdout");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return errno_error("create", path);
  return std::unique_ptr<ByteSink>(std::make_unique<FdSink>(fd, path, true));
}

}  // namespace codex
