// CodexTree: Codex's SHA-256 Merkle tree over 32-byte leaves, with keyed
// compression C(x, y, key) = SHA256(x ‖ y ‖ key) (keys 0 none, 1 bottom
// layer, 2 odd, 3 odd and bottom). Leaves are used as given (not re-hashed).
// See docs/codex-formats.md section 3. Used for dataset trees (leaf = SHA-256 of a
// block), block cell trees (leaf = SHA-256 of a 2 KiB cell) and slot trees.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "codex/cid.hpp"
#include "codex/error.hpp"
#include "codex/sha256.hpp"

namespace codex {

// The root over `leaves`; Errc::corrupt when there are none (a tree needs a leaf).
Result<Digest> codex_tree_root(std::span<const Digest> leaves);

// A whole tree kept in memory, for making proofs.
class CodexTree {
 public:
  static Result<CodexTree> build(std::vector<Digest> leaves);
  const Digest& root() const { return layers_.back().front(); }
  std::size_t leaf_count() const { return layers_.front().size(); }
  const std::vector<Digest>& leaves() const { return layers_.front(); }
  // Sibling at each layer, bottom up; 32 zero bytes where the sibling is past the end.
  Result<std::vector<Digest>> proof(std::size_t index) const;

 private:
  std::vector<std::vector<Digest>> layers_;  // layers_[0] = leaves, back() = {root}
};

bool verify_codex_proof(const Digest& leaf, std::size_t index, std::size_t leaf_count,
                        std::span<const Digest> path, const Digest& root);

}  // namespace codex
