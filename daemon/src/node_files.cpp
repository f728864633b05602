// The member's small files in its repository directory (node_files.hpp).
#include "codex/daemon/node_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace codex::daemon {
namespace {

constexpr std::size_t kMaxRevocations = 100000;

Error errno_error(std::string_view what, const std::filesystem::path& file) {
  return make_error(Errc::io, "{} '{}': {}", what, file.string(), std::strerror(errno));
}

}  // namespace

Status ensure_dir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return {};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(Errc::io, "cannot create directory '{}': {}", dir.string(), ec.message());
  return {};
}

Status write_file_atomic(const std::filesystem::path& file, ByteView bytes) {
  auto temp = file;
  temp += ".tmp";
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return errno_error("cannot create", temp);
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto e = errno_error("cannot write", temp);
      ::close(fd);
      ::unlink(temp.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    auto e = errno_error("cannot write", temp);
    ::unlink(temp.c_str());
    return e;
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    auto e = errno_error("cannot rename into place", file);
    ::unlink(temp.c_str());
    return e;
  }
  return {};
}

Result<Bytes> read_small_file(const std::filesystem::path& file, std::size_t max_bytes) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, "no file '{}'", file.string());
    return errno_error("cannot open", file);
  }
  Bytes out;
  std::uint8_t buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto e = errno_error("cannot read", file);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return make_error(Errc::corrupt, "'{}' is larger than {} bytes", file.string(), max_bytes);
    }
    out.insert(out.end(), buffer, buffer + n);
  }
  ::close(fd);
  return out;
}

Result<std::optional<MembershipCertificate>> load_certificate(const NodePaths& paths) {
  auto bytes = read_small_file(paths.certificate(), MembershipCertificate::kEncodedSize);
  if (!bytes) {
    if (bytes.error().code == Errc::not_found) return std::optional<MembershipCertificate>();
    return std::move(bytes).error();
  }
  auto certificate = MembershipCertificate::decode(*bytes);
  if (!certificate)
    return make_error(Errc::corrupt, "'{}': {}", paths.certificate().string(), certificate.error().message);
  return std::optional<MembershipCertificate>(std::move(*certificate));
}

Result<std::vector<Revocation>> load_revocations(const NodePaths& paths, const Community& community) {
  std::vector<Revocation> out;
  auto bytes = read_small_file(paths.revocations(), kMaxRevocations * Revocation::kEncodedSize);
  if (!bytes) {
    if (bytes.error().code == Errc::not_found) return out;
    return std::move(bytes).error();
  }
  if (bytes->size() % Revocation::kEncodedSize != 0)
    return make_error(Errc::corrupt, "'{}' is {} bytes, not a whole number of {}-byte revocations",
                      paths.revocations().string(), bytes->size(), Revocation::kEncodedSize);
  for (std::size_t at = 0; at < bytes->size(); at += Revocation::kEncodedSize) {
    auto r = Revocation::decode(ByteView(*bytes).subspan(at, Revocation::kEncodedSize));
    if (!r) return make_error(Errc::corrupt, "'{}' at byte {}: {}", paths.revocations().string(), at, r.error().message);
    // Revocations of another community (an old one) are kept on disk but not used.
    if (r->owner_public_key != community.owner_public_key) continue;
    auto verified = r->verify(community);
    if (!verified)
      return make_error(Errc::corrupt, "'{}' at byte {}: {}", paths.revocations().string(), at,
                        verified.error().message);
    out.push_back(std::move(*r));
  }
  return out;
}

Status append_revocation(const NodePaths& paths, const Revocation& revocation) {
  // Rewritten whole (small file, atomic) so a crash never leaves a torn record.
  Bytes all;
  auto existing = read_small_file(paths.revocations(), kMaxRevocations * Revocation::kEncodedSize);
  if (existing) all = std::move(*existing);
  else if (existing.error().code != Errc::not_found) return std::move(existing).error();
  Bytes encoded = revocation.encode();
  all.insert(all.end(), encoded.begin(), encoded.end());
  return write_file_atomic(paths.revocations(), all);
}

Result<std::vector<DamageReport>> load_damage_reports(const NodePaths& paths) {
  std::vector<DamageReport> out;
  auto bytes = read_small_file(paths.damaged_slots(), kMaxDamageReports * kDamageReportSize);
  if (!bytes) {
    if (bytes.error().code == Errc::not_found) return out;
    return std::move(bytes).error();
  }
  if (bytes->size() % kDamageReportSize != 0)
    return make_error(Errc::corrupt, "'{}' is {} bytes, not a whole number of {}-byte records",
                      paths.damaged_slots().string(), bytes->size(), kDamageReportSize);
  for (std::size_t at = 0; at < bytes->size(); at += kDamageReportSize) {
    DamageReport r;
    const std::uint8_t* p = bytes->data() + at;
    std::copy(p, p + 32, r.dataset.begin());
    for (int i = 0; i < 4; ++i) r.slot = r.slot << 8 | p[32 + i];
    for (int i = 0; i < 8; ++i) r.reported_unix_ms = r.reported_unix_ms << 8 | p[36 + i];
    out.push_back(r);
  }
  return out;
}

Status remember_damage_report(const NodePaths& paths, const DamageReport& report, std::uint64_t keep_ms) {
  auto known = load_damage_reports(paths);
  // A damaged file is replaced: these records only shorten a window.
  std::vector<DamageReport> kept = known ? std::move(*known) : std::vector<DamageReport>{};
  std::erase_if(kept, [&](const DamageReport& r) {
    return (r.dataset == report.dataset && r.slot == report.slot) || r.reported_unix_ms + keep_ms <= report.reported_unix_ms;
  });
  kept.push_back(report);
  if (kept.size() > kMaxDamageReports) kept.erase(kept.begin(), kept.end() - kMaxDamageReports);
  Bytes all;
  all.reserve(kept.size() * kDamageReportSize);
  for (const DamageReport& r : kept) {
    all.insert(all.end(), r.dataset.begin(), r.dataset.end());
    for (int i = 3; i >= 0; --i) all.push_back(static_cast<std::uint8_t>(r.slot >> (8 * i)));
    for (int i = 7; i >= 0; --i) all.push_back(static_cast<std::uint8_t>(r.reported_unix_ms >> (8 * i)));
  }
  return write_file_atomic(paths.damaged_slots(), all);
}

}  // namespace codex::daemon
