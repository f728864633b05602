// Cheap stand-ins for the computation the core delegates, so that 10,000
// members fit in one process and one core: a "signature" is a 64-bit keyed
// hash of the message under the signer's id (64 bytes on the wire, like
// Ed25519's, so byte counts stay honest), a certificate is such a tag by
// the community, and a storage proof is an 8-byte hash of (dataset, slot,
// challenge) that only a member the simulator knows to store the slot can
// make. They catch what the simulator needs caught (a member proving a slot
// it does not hold, a certificate for another member); they are not
// cryptography. One instance serves every member: the simulator says whose
// turn it is before each call into a Node (it drives one at a time).
#pragma once

#include <cstdint>
#include <functional>

#include "codex/protocol/crypto.hpp"

namespace codex::sim {

std::uint64_t fast_hash(const std::uint8_t* data, std::size_t size, std::uint64_t seed);

class StandInCrypto final : public protocol::Crypto {
 public:
  explicit StandInCrypto(std::uint64_t community) : community_(community) {}
  void act_as(const protocol::MemberId& member) { self_ = &member; }
  Bytes certificate_for(const protocol::MemberId& member) const;

  Bytes sign(ByteView message) override;
  bool verify(const protocol::MemberId& signer, ByteView message, ByteView signature) override;
  Result<protocol::Admission> check_certificate(const protocol::MemberId& member, ByteView certificate,
                                                protocol::Time now) override;
  Result<protocol::RevocationFacts> check_revocation(ByteView revocation, protocol::Time now) override;

 private:
  std::uint64_t community_;
  const protocol::MemberId* self_ = nullptr;
};

class StandInProofs final : public protocol::ProofSystem {
 public:
  // holds(dataset, slot): whether the member acting now stores that slot.
  explicit StandInProofs(std::function<bool(const protocol::DatasetId&, std::uint32_t)> holds) : holds_(std::move(holds)) {}
  Result<Bytes> prove(const protocol::DatasetId& dataset, std::uint32_t slot, ByteView challenge) override;
  Status check(const protocol::DatasetId& dataset, std::uint32_t slot, ByteView challenge, ByteView proof) override;
  std::uint64_t made() const { return made_; }

 private:
  std::function<bool(const protocol::DatasetId&, std::uint32_t)> holds_;
  std::uint64_t made_ = 0;
};

}  // namespace codex::sim
