// Output files; see output.hpp.
#include "cli/output.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace codex::cli {
namespace {

// Temporary files to remove if a signal ends the process. A fixed table of
// plain char arrays, because the handler may only make async-signal-safe calls.
constexpr int kSlots = 8;
constexpr std::size_t kPathMax = 4096;
struct CleanupSlot {
  std::atomic<bool> used{false};
  char path[kPathMax];
};
std::array<CleanupSlot, kSlots> g_cleanup;

extern "C" void remove_temporaries_and_die(int signal_number) {
  for (auto& slot : g_cleanup)
    if (slot.used.load()) ::unlink(slot.path);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

void install_cleanup_handlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current {};
    ::sigaction(signal_number, nullptr, &current);
    if (current.sa_handler == SIG_IGN) continue;  // nohup: stay immune
    struct sigaction action {};
    action.sa_handler = remove_temporaries_and_die;
    sigemptyset(&action.sa_mask);
    ::sigaction(signal_number, &action, nullptr);
  }
}

int register_temporary(const std::string& path) {
  if (path.size() >= kPathMax) return -1;
  install_cleanup_handlers();
  for (int i = 0; i < kSlots; ++i) {
    auto& slot = g_cleanup[static_cast<std::size_t>(i)];
    if (slot.used.load()) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.used.store(true);
    return i;
  }
  return -1;
}

void unregister_temporary(int index) {
  if (index >= 0) g_cleanup[static_cast<std::size_t>(index)].used.store(false);
}

// The file a path names once symbolic links are followed (the path itself
// when it is not a link; a dangling link's target, which will be created).
Result<std::string> follow_links(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path current(path);
  for (int hops = 0; hops < 40; ++hops) {
    std::error_code ec;
    auto status = fs::symlink_status(current, ec);
    if (ec || !fs::is_symlink(status)) return current.string();
    fs::path target = fs::read_symlink(current, ec);
    if (ec) return make_error(Errc::io, "cannot read symbolic link '{}': {}", current.string(), ec.message());
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
  return make_error(Errc::io, "cannot write '{}': too many levels of symbolic links", path);
}

mode_t current_umask() {
  mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

}  // namespace

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

bool stdout_reader_gone() {
  struct stat st;
  if (::fstat(STDOUT_FILENO, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return false;
  pollfd p{STDOUT_FILENO, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

Result<OutputFile> OutputFile::open(const std::string& path, bool sync) {
  OutputFile file;
  file.sync_ = sync;
  if (path.empty() || path == "-") {
    file.sink_ = fd_sink(STDOUT_FILENO, "stdout");
    return file;
  }
  file.path_ = path;
  CODEX_TRY_ASSIGN(std::string target, follow_links(path));
  struct stat st;
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return make_error(Errc::usage, "cannot write '{}': it is a directory", path);
  if (exists && !S_ISREG(st.st_mode)) {
    // A device, FIFO, socket or terminal: write through it, never replace it.
    int fd = ::open(target.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return errno_error("open", path);
    file.fd_ = fd;
    file.sink_ = fd_sink(fd, path);
    return file;
  }
  file.path_ = target;
  file.temporary_ = target + ".partial-XXXXXX";
  int fd = ::mkostemp(file.temporary_.data(), O_CLOEXEC);
  if (fd < 0) {
    file.temporary_.clear();
    return errno_error("create a file beside", path);
  }
  file.slot_ = register_temporary(file.temporary_);
  if (exists) {
    // Keep what the replaced file was: its permissions and, when allowed, owner.
    if (::fchown(fd, st.st_uid, st.st_gid) != 0) {
      // Not permitted (not root): the new file is the caller's, as with cp.
    }
    ::fchmod(fd, st.st_mode & 07777);
  } else {
    ::fchmod(fd, 0666 & ~current_umask());
  }
  file.fd_ = fd;
  file.sink_ = fd_sink(fd, path);
  return file;
}

OutputFile::~OutputFile() {
  sink_.reset();
  if (fd_ >= 0) ::close(fd_);
  if (!temporary_.empty() && !committed_) ::unlink(temporary_.c_str());
  unregister_temporary(slot_);
}

Status OutputFile::patch(std::uint64_t offset, ByteView bytes) {
  if (!seekable()) return make_error(Errc::failure, "cannot patch '{}': not a regular file", path_.empty() ? "stdout" : path_);
  CODEX_TRY(sink_->flush());
  return pwrite_full(fd_, bytes.data(), bytes.size(), offset, path_);
}

Status OutputFile::commit() {
  CODEX_TRY(sink_->flush());
  if (path_.empty()) {
    if (sync_ && ::fsync(STDOUT_FILENO) != 0 && errno != EINVAL && errno != EROFS) return errno_error("sync", "stdout");
    return {};
  }
  if (sync_ && ::fsync(fd_) != 0 && (seekable() || (errno != EINVAL && errno != EROFS)))
    return errno_error("sync", path_);
  if (!seekable()) return {};
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) return errno_error("rename into", path_);
  committed_ = true;
  unregister_temporary(std::exchange(slot_, -1));
  if (sync_) {
    std::string dir = std::filesystem::path(path_).parent_path().string();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      const int rc = ::fsync(dfd);
      ::close(dfd);
      if (rc != 0) return errno_error("sync the directory of", path_);
    }
  }
  return {};
}

}  // namespace codex::cli
