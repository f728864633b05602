// The system Env; see env.hpp.
#include "codex/env.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "codex/io.hpp"

namespace codex {
namespace {

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int descriptor() const override { return fd_; }
  ~PosixFile() override { ::close(fd_); }
  Status read_at(std::uint64_t offset, MutableByteView out) override {
    return pread_full(fd_, out.data(), out.size(), offset, path_);
  }
  Status write_at(std::uint64_t offset, ByteView data) override {
    return pwrite_full(fd_, data.data(), data.size(), offset, path_);
  }
  Status sync() override {
    if (::fdatasync(fd_) != 0) return errno_error("sync", path_);
    return {};
  }
  void start_writeback(std::uint64_t offset, std::uint64_t size) override {
    (void)::sync_file_range(fd_, static_cast<off64_t>(offset), static_cast<off64_t>(size), SYNC_FILE_RANGE_WRITE);
  }
  Status truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return errno_error("truncate", path_);
    return {};
  }
  Result<std::uint64_t> size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return errno_error("stat", path_);
    return static_cast<std::uint64_t>(st.st_size);
  }
  Status lock(Lock kind) override {
    while (::flock(fd_, kind == Lock::shared ? LOCK_SH : LOCK_EX) != 0)
      if (errno != EINTR) return errno_error("lock", path_);
    return {};
  }
  Result<bool> try_lock() override {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno == EWOULDBLOCK) return false;
    return errno_error("lock", path_);
  }
  const std::string& path() const override { return path_; }

 private:
  int fd_;
  std::string path_;
};

class SystemClock final : public Clock {
 public:
  std::int64_t unix_seconds() override { return static_cast<std::int64_t>(std::time(nullptr)); }
};

class SystemEnv final : public Env {
 public:
  Result<std::unique_ptr<File>> open(const std::string& path, Open mode) override {
    const int flags = mode == Open::read         ? O_RDONLY | O_CLOEXEC
                      : mode == Open::read_write ? O_RDWR | O_CLOEXEC
                                                 : O_RDWR | O_CREAT | O_CLOEXEC;
    const int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) {
      const bool missing = errno == ENOENT;
      Error error = errno_error("open", path);
      if (missing) error.code = Errc::not_found;
      return error;
    }
    return std::unique_ptr<File>(new PosixFile(fd, path));
  }
  Status create_directories(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return make_error(Errc::io, "cannot create directory '{}': {}", path, ec.message());
    return {};
  }
  Status remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) == 0) return {};
    const bool missing = errno == ENOENT;
    Error error = errno_error("remove", path);
    if (missing) error.code = Errc::not_found;
    return error;
  }
  bool writable(const std::string& path) override { return ::access(path.c_str(), W_OK) == 0; }
  Status sync_directory(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error("open directory", path);
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return errno_error("sync directory", path);
    return {};
  }
  Result<std::unique_ptr<File>> temp_file(const std::string& dir) override {
    CODEX_TRY(create_directories(dir));
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      std::string path = dir + "/.codex-spill-XXXXXX";
      fd = ::mkostemp(path.data(), O_CLOEXEC);
      if (fd >= 0) ::unlink(path.c_str());
    }
    if (fd < 0) return errno_error("create a temporary file in", dir);
    return std::unique_ptr<File>(new PosixFile(fd, "temporary file in " + dir));
  }
  Clock& clock() override { return clock_; }
  Random& random() override { return system_random(); }

 private:
  SystemClock clock_;
};

}  // namespace

Env& system_env() {
  static SystemEnv env;
  return env;
}

}  // namespace codex
