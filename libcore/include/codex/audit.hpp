// Storage proofs over the repository: a holder proves it has a slot of a
// protected dataset it holds; anyone with the manifest checks the answer.
// (The proof format and its checks are in storage_proof.hpp.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "codex/block_source.hpp"
#include "codex/io.hpp"
#include "codex/repository.hpp"
#include "codex/storage_proof.hpp"

namespace codex {

// Errc::usage when the dataset is plain or the slot is not held here;
// Errc::not_found when the dataset is not here; Errc::corrupt when the held
// slot is damaged (a proof cannot be made from damaged data).
// The slot's blocks are read from `source` (normally the repository's own).
Result<StorageProof> prove_slot(Repository& repository, BlockSource& source, const Cid& manifest_cid, std::uint32_t slot,
                                ByteView challenge, std::uint32_t samples);

// Checks a proof against the manifest held in the repository.
// Errc::rejected (with the reason) when it fails; Errc::not_found when the
// repository does not know the proof's dataset.
Status check_proof(Repository& repository, const StorageProof& proof, const ProofExpectations& expect);

// A proof file as codex-verify --prove writes it (JSON), read whole but never
// past kMaxProofJsonSize. Errc::corrupt, naming the input, when too large or
// malformed.
Result<StorageProof> read_proof(ByteSource& input);
// A challenge given as kChallengeSize bytes in hex (Errc::usage otherwise).
Result<Bytes> parse_challenge(std::string_view hex);
// The JSON line reporting a check: manifest, slot, valid, and the reason.
std::string proof_check_json(const StorageProof& proof, const Status& checked);

}  // namespace codex
