// The computation the core delegates: signatures and admission (Crypto) and
// storage proofs (ProofSystem). The daemon and tests use the real ones
// (Ed25519 and community certificates from libcore; libcore's cell-and-path
// storage proofs); the simulator may pass cheap stand-ins so 10,000 members
// fit in one process. Implementations must be deterministic for the same
// inputs and must not block: the core calls them inline.
#pragma once

#include <cstdint>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/protocol/types.hpp"

namespace codex::protocol {

// What an accepted membership certificate says.
struct Admission {
  std::uint64_t serial = 0;
  Time expires = kNever;  // on the core's clock (the implementation converts)
};

// What an accepted revocation says.
struct RevocationFacts {
  MemberId member{};
  std::uint64_t serial = 0;
};

class Crypto {
 public:
  virtual ~Crypto() = default;
  // Signs with this node's own key (64-byte Ed25519 signature, or a stand-in).
  virtual Bytes sign(ByteView message) = 0;
  // Whether `signature` over `message` was made by `signer`'s key.
  virtual bool verify(const MemberId& signer, ByteView message, ByteView signature) = 0;
  // Checks a membership certificate naming `member`, valid at `now`.
  // Errc::rejected (with the reason) when it is not one.
  virtual Result<Admission> check_certificate(const MemberId& member, ByteView certificate,
                                              Time now) = 0;
  // Checks a revocation signed by the community owner.
  virtual Result<RevocationFacts> check_revocation(ByteView revocation, Time now) = 0;
};

class ProofSystem {
 public:
  virtual ~ProofSystem() = default;
  // This node's proof that it holds slot `slot` of `dataset`, answering the
  // 32-byte `challenge`. An error when it cannot (slot missing or damaged).
  virtual Result<Bytes> prove(const DatasetId& dataset, std::uint32_t slot, ByteView challenge) = 0;
  // Checks someone's proof. Errc::rejected when it is wrong; Errc::not_found
  // when this node cannot check it (it lacks the manifest): not a failure.
  virtual Status check(const DatasetId& dataset, std::uint32_t slot, ByteView challenge,
                       ByteView proof) = 0;
};

}  // namespace codex::protocol
