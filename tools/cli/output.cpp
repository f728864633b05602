// Output files written atomically; see output.hpp.
#include "cli/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace codex::cli {

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

Result<OutputFile> OutputFile::open(const std::string& path) {
  OutputFile file;
  if (path.empty() || path == "-") {
    file.sink_ = fd_sink(STDOUT_FILENO, "stdout");
    return file;
  }
  file.path_ = path;
  file.temporary_ = path + ".partial-XXXXXX";
  int fd = ::mkstemp(file.temporary_.data());
  if (fd < 0) return errno_error("create a file beside", path);
  ::fchmod(fd, 0644);
  file.fd_ = fd;
  file.sink_ = fd_sink(fd, path);
  return file;
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temporary_.empty() && !committed_ && sink_) ::unlink(temporary_.c_str());
}

Status OutputFile::patch(std::uint64_t offset, ByteView bytes) {
  if (path_.empty()) return make_error(Errc::failure, "cannot patch stdout");
  CODEX_TRY(sink_->flush());
  if (::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset)) != static_cast<ssize_t>(bytes.size()))
    return errno_error("write", path_);
  return {};
}

Status OutputFile::commit() {
  CODEX_TRY(sink_->flush());
  if (path_.empty()) return {};
  if (::fsync(fd_) != 0) return errno_error("sync", path_);
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) return errno_error("rename into", path_);
  committed_ = true;
  return {};
}

}  // namespace codex::cli
