// The real implementations of the core's two computation interfaces, for the
// daemon and the tests: Ed25519 signatures with community certificates and
// revocations (libcore identity.hpp, community.hpp), and storage proofs over
// a repository (libcore audit.hpp, storage_proof.hpp).
#pragma once

#include <cstdint>
#include <functional>

#include "codex/community.hpp"
#include "codex/identity.hpp"
#include "codex/protocol/crypto.hpp"
#include "codex/repository.hpp"
#include "codex/storage_proof.hpp"

namespace codex::protocol {

// Converts the core's monotonic time to unix seconds (certificates carry
// wall-clock times). The daemon passes its clock's mapping; tests a fixed one.
using UnixClock = std::function<std::int64_t(Time)>;

class Ed25519Crypto : public Crypto {
 public:
  Ed25519Crypto(const Ed25519Key& key, Community community, UnixClock unix_seconds);
  Bytes sign(ByteView message) override;
  bool verify(const MemberId& signer, ByteView message, ByteView signature) override;
  Result<Admission> check_certificate(const MemberId& member, ByteView certificate, Time now) override;
  Result<RevocationFacts> check_revocation(ByteView revocation, Time now) override;

 private:
  const Ed25519Key& key_;
  Community community_;
  UnixClock unix_seconds_;
};

// The member id of a libp2p peer id (its inlined Ed25519 key), and back.
Result<MemberId> member_id_of(const PeerId& peer);
Result<PeerId> peer_id_of(const MemberId& member);

class RepositoryProofs : public ProofSystem {
 public:
  explicit RepositoryProofs(Repository& repository, std::uint32_t samples = kDefaultProofSamples)
      : repository_(repository), samples_(samples) {}
  Result<Bytes> prove(const DatasetId& dataset, std::uint32_t slot, ByteView challenge) override;
  Status check(const DatasetId& dataset, std::uint32_t slot, ByteView challenge, ByteView proof) override;

 private:
  Repository& repository_;
  std::uint32_t samples_;
};

}  // namespace codex::protocol
