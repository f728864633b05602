// What a member keeps in its repository directory besides blocks: its node
// key, its membership certificate, the revocations it knows of, the owner key
// (only on the owner's machine), the daemon's configuration and control socket.
//
//   DIR/node.key             this node's Ed25519 key (PKCS#8 PEM, 0600)
//   DIR/membership.cert      the certificate the owner issued to this node (162 bytes)
//   DIR/revocations          known revocations, 154-byte records back to back
//   DIR/community-owner.key  the owner key (owner's machine only; keep it offline)
//   DIR/gossip.conf          daemon configuration (optional)
//   DIR/gossip.sock          the running daemon's control socket (0600)
//   DIR/damaged-slots        slots this member reported damaged, and when
//                            (44-byte records: dataset ‖ u32be slot ‖ u64be unix ms)
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "codex/community.hpp"
#include "codex/error.hpp"
#include "codex/identity.hpp"

namespace codex::daemon {

struct NodePaths {
  std::filesystem::path dir;
  std::filesystem::path node_key() const { return dir / "node.key"; }
  std::filesystem::path certificate() const { return dir / "membership.cert"; }
  std::filesystem::path revocations() const { return dir / "revocations"; }
  std::filesystem::path owner_key() const { return dir / "community-owner.key"; }
  std::filesystem::path config() const { return dir / "gossip.conf"; }
  std::filesystem::path control_socket() const { return dir / "gossip.sock"; }
  std::filesystem::path damaged_slots() const { return dir / "damaged-slots"; }
};

// A slot this member reported damaged: a restarted member still ignores
// requests to rebuild it for the repair timeout (docs/operating.md, "State
// kept between runs").
struct DamageReport {
  std::array<std::uint8_t, 32> dataset{};
  std::uint32_t slot = 0;
  std::uint64_t reported_unix_ms = 0;
  friend bool operator==(const DamageReport&, const DamageReport&) = default;
};
inline constexpr std::size_t kDamageReportSize = 44;
inline constexpr std::size_t kMaxDamageReports = 4096;

// Absent file: none. A file that is not whole records, or holds more than
// kMaxDamageReports, is Errc::corrupt.
Result<std::vector<DamageReport>> load_damage_reports(const NodePaths& paths);
// Keeps `report` with those of `kept` reported less than `keep_ms` before
// it (one record per slot; the newest kMaxDamageReports), written whole.
Status remember_damage_report(const NodePaths& paths, const DamageReport& report, std::uint64_t keep_ms);

// Makes the directory (0700) when missing.
Status ensure_dir(const std::filesystem::path& dir);

// Small files written whole: temporary file, fsync, rename (mode 0600).
Status write_file_atomic(const std::filesystem::path& file, ByteView bytes);
// Reads at most max_bytes (more is Errc::corrupt); Errc::not_found when absent.
Result<Bytes> read_small_file(const std::filesystem::path& file, std::size_t max_bytes);

Result<std::optional<MembershipCertificate>> load_certificate(const NodePaths& paths);
// Revocations of `community` in the file; records that fail to verify are an error.
Result<std::vector<Revocation>> load_revocations(const NodePaths& paths, const Community& community);
Status append_revocation(const NodePaths& paths, const Revocation& revocation);

}  // namespace codex::daemon
