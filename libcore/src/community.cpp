// Membership certificates and revocations: their fixed-size encodings, the
// owner's signatures over them, and the admission check (docs/admission.md).
#include "codex/community.hpp"

#include <algorithm>

namespace codex {
namespace {

constexpr std::uint8_t kCertificateMagic[4] = {'C', 'X', 'M', '1'};
constexpr std::uint8_t kRevocationMagic[4] = {'C', 'X', 'R', '1'};
constexpr std::size_t kPeerIdSize = 38;

void put_u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

std::uint64_t get_u64(ByteView in, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | in[pos++];
  return v;
}

// The shared head of both records: magic, owner key, member peer id.
Status read_head(ByteView bytes, const std::uint8_t (&magic)[4], std::size_t size, std::string_view what,
                 Bytes& owner, PeerId& member) {
  if (bytes.size() != size)
    return make_error(Errc::corrupt, "{} has {} bytes, expected {}", what, bytes.size(), size);
  if (!std::equal(magic, magic + 4, bytes.begin()))
    return make_error(Errc::corrupt, "{} does not start with its magic '{}{}{}{}'", what, char(magic[0]),
                      char(magic[1]), char(magic[2]), char(magic[3]));
  owner.assign(bytes.begin() + 4, bytes.begin() + 36);
  auto id = PeerId::from_bytes(bytes.subspan(36, kPeerIdSize));
  if (!id) return make_error(Errc::corrupt, "{} member: {}", what, id.error().message);
  member = std::move(*id);
  return {};
}

Result<std::int64_t> as_time(std::uint64_t v, std::string_view what) {
  if (v > static_cast<std::uint64_t>(INT64_MAX))
    return make_error(Errc::corrupt, "{} time {} is out of range", what, v);
  return static_cast<std::int64_t>(v);
}

}  // namespace

Result<Community> Community::from_owner_key(ByteView public_key32) {
  if (public_key32.size() != 32)
    return make_error(Errc::corrupt, "community owner key has {} bytes, expected 32", public_key32.size());
  return Community{Bytes(public_key32.begin(), public_key32.end())};
}

Result<Community> Community::parse(std::string_view id_text) {
  auto id = PeerId::parse(id_text);
  if (!id) return make_error(Errc::usage, "community id: {}", id.error().message);
  return Community{*id->ed25519_public_key()};
}

PeerId Community::id() const { return *PeerId::from_ed25519_public_key(owner_public_key); }

MembershipCertificate MembershipCertificate::issue(const Ed25519Key& owner, const PeerId& member,
                                                   std::int64_t issued, std::int64_t expires,
                                                   std::uint64_t serial) {
  MembershipCertificate c;
  c.owner_public_key = owner.public_key();
  c.member = member;
  c.issued = issued;
  c.expires = expires;
  c.serial = serial;
  c.signature = owner.sign(c.signed_bytes());
  return c;
}

Bytes MembershipCertificate::signed_bytes() const {
  Bytes out(kCertificateMagic, kCertificateMagic + 4);
  out.insert(out.end(), owner_public_key.begin(), owner_public_key.end());
  out.insert(out.end(), member.bytes().begin(), member.bytes().end());
  put_u64(out, static_cast<std::uint64_t>(issued));
  put_u64(out, static_cast<std::uint64_t>(expires));
  put_u64(out, serial);
  return out;
}

Bytes MembershipCertificate::encode() const {
  Bytes out = signed_bytes();
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Result<MembershipCertificate> MembershipCertificate::decode(ByteView bytes) {
  MembershipCertificate c;
  CODEX_TRY(read_head(bytes, kCertificateMagic, kEncodedSize, "membership certificate", c.owner_public_key,
                      c.member));
  std::size_t pos = 36 + kPeerIdSize;
  CODEX_TRY_ASSIGN(c.issued, as_time(get_u64(bytes, pos), "certificate issue"));
  CODEX_TRY_ASSIGN(c.expires, as_time(get_u64(bytes, pos), "certificate expiry"));
  c.serial = get_u64(bytes, pos);
  c.signature.assign(bytes.begin() + pos, bytes.end());
  return c;
}

Status MembershipCertificate::verify(const Community& community, std::int64_t now) const {
  if (owner_public_key != community.owner_public_key)
    return make_error(Errc::rejected, "certificate of {} is for another community ({})", member.to_string(),
                      Community{owner_public_key}.to_string());
  if (!ed25519_verify(owner_public_key, signed_bytes(), signature))
    return make_error(Errc::rejected, "certificate of {} has a bad owner signature", member.to_string());
  if (expires <= issued)
    return make_error(Errc::rejected, "certificate of {} expires before it is issued", member.to_string());
  if (issued > now + kCertificateClockSkew)
    return make_error(Errc::rejected, "certificate of {} is not valid yet (issued {}, now {})",
                      member.to_string(), issued, now);
  if (now >= expires)
    return make_error(Errc::rejected, "certificate of {} expired at {} (now {})", member.to_string(), expires,
                      now);
  return {};
}

Revocation Revocation::issue(const Ed25519Key& owner, const PeerId& member, std::uint64_t serial,
                             std::int64_t issued) {
  Revocation r;
  r.owner_public_key = owner.public_key();
  r.member = member;
  r.serial = serial;
  r.issued = issued;
  r.signature = owner.sign(r.signed_bytes());
  return r;
}

Bytes Revocation::signed_bytes() const {
  Bytes out(kRevocationMagic, kRevocationMagic + 4);
  out.insert(out.end(), owner_public_key.begin(), owner_public_key.end());
  out.insert(out.end(), member.bytes().begin(), member.bytes().end());
  put_u64(out, serial);
  put_u64(out, static_cast<std::uint64_t>(issued));
  return out;
}

Bytes Revocation::encode() const {
  Bytes out = signed_bytes();
  out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Result<Revocation> Revocation::decode(ByteView bytes) {
  Revocation r;
  CODEX_TRY(read_head(bytes, kRevocationMagic, kEncodedSize, "revocation", r.owner_public_key, r.member));
  std::size_t pos = 36 + kPeerIdSize;
  r.serial = get_u64(bytes, pos);
  CODEX_TRY_ASSIGN(r.issued, as_time(get_u64(bytes, pos), "revocation issue"));
  r.signature.assign(bytes.begin() + pos, bytes.end());
  return r;
}

Status Revocation::verify(const Community& community) const {
  if (owner_public_key != community.owner_public_key)
    return make_error(Errc::rejected, "revocation of {} is for another community", member.to_string());
  if (!ed25519_verify(owner_public_key, signed_bytes(), signature))
    return make_error(Errc::rejected, "revocation of {} has a bad owner signature", member.to_string());
  return {};
}

Result<bool> RevocationList::add(const Revocation& revocation) {
  CODEX_TRY(revocation.verify(community_));
  auto it = by_member_.find(revocation.member);
  if (it != by_member_.end() && it->second.serial >= revocation.serial) return false;
  by_member_.insert_or_assign(revocation.member, revocation);
  return true;
}

bool RevocationList::revoked(const MembershipCertificate& certificate) const {
  auto it = by_member_.find(certificate.member);
  return it != by_member_.end() && it->second.covers(certificate);
}

const Revocation* RevocationList::find(const PeerId& member) const {
  auto it = by_member_.find(member);
  return it == by_member_.end() ? nullptr : &it->second;
}

Status check_admission(const MembershipCertificate& certificate, const PeerId& peer, const Community& community,
                       const RevocationList& revocations, std::int64_t now) {
  if (certificate.member != peer)
    return make_error(Errc::rejected, "peer {} showed a certificate for {}", peer.to_string(),
                      certificate.member.to_string());
  CODEX_TRY(certificate.verify(community, now));
  if (revocations.revoked(certificate))
    return make_error(Errc::rejected, "certificate {} of {} is revoked", certificate.serial, peer.to_string());
  return {};
}

}  // namespace codex
