// Anonymous temporary files; see temp_file.hpp.
#include "temp_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "codex/io.hpp"

namespace codex {

Result<TempFile> TempFile::create(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string path = dir + "/.codex-spill-XXXXXX";
    fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(path.c_str());
  }
  if (fd < 0) return errno_error("create a temporary file in", dir);
  return TempFile(fd, dir);
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status TempFile::write_at(std::uint64_t offset, ByteView data) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd_, data.data(), std::min(data.size(), kMaxSyscallBytes), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write a temporary file in", dir_);
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Status TempFile::read_at(std::uint64_t offset, MutableByteView out) {
  while (!out.empty()) {
    ssize_t n = ::pread(fd_, out.data(), std::min(out.size(), kMaxSyscallBytes), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read a temporary file in", dir_);
    }
    if (n == 0) return make_error(Errc::io, "temporary file in '{}' is shorter than written", dir_);
    out = out.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

}  // namespace codex
