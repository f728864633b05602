// A community of members and who may take part in it. A community is defined
// by its owner's Ed25519 key: its id is the owner's peer id, so anyone holding
// the id can check every certificate without asking anybody. The owner admits
// a member by signing a membership certificate for the member's peer id and
// withdraws it with a signed revocation. Both have one fixed-size binary
// encoding (docs/admission.md), so there is exactly one byte string to sign
// and to check. Pure computation: the clock is a parameter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/identity.hpp"

namespace codex {

// How far a certificate's issue time may lie in our future (clocks drift).
inline constexpr std::int64_t kCertificateClockSkew = 300;

struct Community {
  Bytes owner_public_key;  // 32 bytes

  static Result<Community> from_owner_key(ByteView public_key32);
  static Result<Community> parse(std::string_view id_text);  // the owner's peer id text
  PeerId id() const;          // the owner's peer id
  std::string to_string() const { return id().to_string(); }
  bool operator==(const Community&) const = default;
};

struct MembershipCertificate {
  static constexpr std::size_t kEncodedSize = 162;

  Bytes owner_public_key;       // 32 bytes: the community
  PeerId member;
  std::int64_t issued = 0;      // unix seconds
  std::int64_t expires = 0;     // unix seconds, exclusive
  std::uint64_t serial = 0;     // chosen by the owner, increasing per member
  Bytes signature;              // 64 bytes, the owner's over signed_bytes()

  // Signs a certificate with the owner's key.
  static MembershipCertificate issue(const Ed25519Key& owner, const PeerId& member, std::int64_t issued,
                                     std::int64_t expires, std::uint64_t serial);
  Bytes signed_bytes() const;   // everything but the signature
  Bytes encode() const;
  static Result<MembershipCertificate> decode(ByteView bytes);
  Community community() const { return Community{owner_public_key}; }
  // Errc::rejected naming the reason: another community, bad signature,
  // not yet valid, expired.
  Status verify(const Community& community, std::int64_t now) const;
};

struct Revocation {
  static constexpr std::size_t kEncodedSize = 154;

  Bytes owner_public_key;       // 32 bytes: the community
  PeerId member;
  std::uint64_t serial = 0;     // certificates of `member` with serial <= this are revoked
  std::int64_t issued = 0;      // unix seconds
  Bytes signature;              // 64 bytes

  static Revocation issue(const Ed25519Key& owner, const PeerId& member, std::uint64_t serial,
                          std::int64_t issued);
  Bytes signed_bytes() const;
  Bytes encode() const;
  static Result<Revocation> decode(ByteView bytes);
  // Errc::rejected for another community or a bad signature. Revocations do not expire.
  Status verify(const Community& community) const;
  bool covers(const MembershipCertificate& certificate) const {
    return certificate.member == member && certificate.serial <= serial;
  }
};

// The revocations a node knows of, one (the widest) per member.
class RevocationList {
 public:
  explicit RevocationList(Community community) : community_(std::move(community)) {}
  // Verifies and keeps the revocation; true when it revoked more than before.
  Result<bool> add(const Revocation& revocation);
  bool revoked(const MembershipCertificate& certificate) const;
  const Revocation* find(const PeerId& member) const;
  const std::unordered_map<PeerId, Revocation>& all() const { return by_member_; }

 private:
  Community community_;
  std::unordered_map<PeerId, Revocation> by_member_;
};

// What admission comes down to: a certificate that verifies for this
// community now and is not revoked, naming the peer we are talking to.
Status check_admission(const MembershipCertificate& certificate, const PeerId& peer, const Community& community,
                       const RevocationList& revocations, std::int64_t now);

}  // namespace codex
