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
  return pwrite_full(fd_, data.data(), data.size(), offset, "temporary file in " + dir_);
}

Status TempFile::read_at(std::uint64_t offset, MutableByteView out) {
  return pread_full(fd_, out.data(), out.size(), offset, "temporary file in " + dir_);
}

}  // namespace codex
