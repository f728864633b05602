// Storage proofs over the repository: a holder proves it has a slot of a
// protected dataset it holds; anyone with the manifest checks the answer.
// (The proof format and its checks are in storage_proof.hpp.)
#pragma once

#include <cstdint>

#include "codex/block_source.hpp"
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

}  // namespace codex
