// Ed25519 and community admission for the core; storage proofs over a repository.
#include "codex/protocol/real_crypto.hpp"

#include <algorithm>

#include "codex/audit.hpp"
#include "codex/cid.hpp"

namespace codex::protocol {

Ed25519Crypto::Ed25519Crypto(const Ed25519Key& key, Community community, UnixClock unix_seconds)
    : key_(key), community_(std::move(community)), unix_seconds_(std::move(unix_seconds)) {}

Bytes Ed25519Crypto::sign(ByteView message) { return key_.sign(message); }

bool Ed25519Crypto::verify(const MemberId& signer, ByteView message, ByteView signature) {
  if (signature.size() != 64) return false;
  return ed25519_verify(ByteView(signer.data(), signer.size()), message, signature);
}

Result<MemberId> member_id_of(const PeerId& peer) {
  CODEX_TRY_ASSIGN(Bytes key, peer.ed25519_public_key());
  if (key.size() != 32) return make_error(Errc::rejected, "peer id {} has no 32-byte Ed25519 key", peer.to_string());
  MemberId id;
  std::copy(key.begin(), key.end(), id.begin());
  return id;
}

Result<PeerId> peer_id_of(const MemberId& member) {
  return PeerId::from_ed25519_public_key(ByteView(member.data(), member.size()));
}

Result<Admission> Ed25519Crypto::check_certificate(const MemberId& member, ByteView bytes, Time now) {
  CODEX_TRY_ASSIGN(auto certificate, MembershipCertificate::decode(bytes));
  CODEX_TRY_ASSIGN(auto peer, peer_id_of(member));
  if (!(certificate.member == peer))
    return make_error(Errc::rejected, "certificate names {}, not {}", certificate.member.to_string(), peer.to_string());
  std::int64_t unix_now = unix_seconds_(now);
  CODEX_TRY(certificate.verify(community_, unix_now));
  Admission a;
  a.serial = certificate.serial;
  // Expiry on the core's clock: now plus what is left, in milliseconds.
  std::int64_t left = certificate.expires - unix_now;
  a.expires = left > (kNever - now) / 1000 ? kNever : now + left * 1000;
  return a;
}

Result<RevocationFacts> Ed25519Crypto::check_revocation(ByteView bytes, Time) {
  CODEX_TRY_ASSIGN(auto revocation, Revocation::decode(bytes));
  CODEX_TRY(revocation.verify(community_));
  RevocationFacts f;
  CODEX_TRY_ASSIGN(f.member, member_id_of(revocation.member));
  f.serial = revocation.serial;
  return f;
}

Result<Bytes> RepositoryProofs::prove(const DatasetId& dataset, std::uint32_t slot, ByteView challenge) {
  auto blocks = repository_source(repository_);
  CODEX_TRY_ASSIGN(auto proof, prove_slot(repository_, *blocks, Cid::from_digest(codec::manifest, dataset), slot,
                                          challenge, samples_));
  return encode_storage_proof(proof);
}

Status RepositoryProofs::check(const DatasetId& dataset, std::uint32_t slot, ByteView challenge, ByteView bytes) {
  auto decoded = decode_storage_proof(bytes);
  if (!decoded) return make_error(Errc::rejected, "storage proof: {}", decoded.error().message);
  if (decoded->manifest != Cid::from_digest(codec::manifest, dataset))
    return make_error(Errc::rejected, "storage proof is for another dataset");
  ProofExpectations expect;
  expect.challenge = Bytes(challenge.begin(), challenge.end());
  expect.slot = slot;
  expect.samples = samples_;
  return check_proof(repository_, *decoded, expect);
}

}  // namespace codex::protocol
