// Storage proofs in both wire forms: JSON (codex-verify --check-proof) and
// binary (heartbeats). What decodes re-encodes and decodes to the same proof.
#include "codex/storage_proof.hpp"
#include "fuzz.hpp"

using namespace codex;

namespace {
void same(const StorageProof& a, const StorageProof& b) {
  CODEX_FUZZ_CHECK(encode_storage_proof(a) == encode_storage_proof(b));
}
}  // namespace

CODEX_FUZZ_TARGET {
  if (auto proof = decode_storage_proof(input)) {
    auto back = decode_storage_proof(encode_storage_proof(*proof));
    CODEX_FUZZ_CHECK(back);
    same(*proof, *back);
    auto json = proof_from_json(proof_to_json(*proof));
    CODEX_FUZZ_CHECK(json);
    same(*proof, *json);
  }
  if (auto proof = proof_from_json(as_text(input))) {
    auto back = proof_from_json(proof_to_json(*proof));
    CODEX_FUZZ_CHECK(back);
    same(*proof, *back);
  }
}
