// CodexTree (docs/codex-formats.md section 3): a binary Merkle tree whose compression
// is keyed by where the node sits, so that a node can never be mistaken for a
// node of another layer or a padded one:
//
//   C(x, y, key) = SHA256(x ‖ y ‖ key)   key: 0 inner, 1 bottom layer,
//                                              2 odd (paired with zeros), 3 both
//
// A layer of odd length pairs its last node with 32 zero bytes. The bottom
// layer is always compressed, so even one leaf gives C(leaf, Z, 3), never the
// leaf itself. A proof is the sibling at each layer, zeros past the end.
#include "codex/codex_tree.hpp"

#include <vector>

namespace codex {

namespace {

constexpr Digest kZero{};

// Compresses `layer` (of `count` nodes) into out[0 .. (count+1)/2). `out` may
// alias `layer`: node i is written after nodes 2i and 2i+1 have been read.
std::size_t compress_layer(const Digest* layer, std::size_t count, bool bottom, Digest* out) {
  const std::uint8_t key = bottom ? 1 : 0;
  const std::size_t pairs = count / 2;
  sha256_pairs(layer, pairs, key, out);
  if (count % 2 == 1) out[pairs] = sha256_pair(layer[count - 1], kZero, static_cast<std::uint8_t>(key + 2));
  return (count + 1) / 2;
}

// Number of siblings on a path from a leaf to the root: the layers above the leaves.
std::size_t tree_depth(std::size_t leaf_count) {
  std::size_t depth = 0;
  std::size_t count = leaf_count;
  do {
    count = (count + 1) / 2;
    ++depth;
  } while (count > 1);
  return depth;
}

}  // namespace

Result<Digest> codex_tree_root(std::span<const Digest> leaves) {
  if (leaves.empty()) return make_error(Errc::corrupt, "a tree needs at least one leaf (got none)");
  std::vector<Digest> work((leaves.size() + 1) / 2);
  std::size_t count = compress_layer(leaves.data(), leaves.size(), true, work.data());
  while (count > 1) count = compress_layer(work.data(), count, false, work.data());
  return work[0];
}

Result<CodexTree> CodexTree::build(std::vector<Digest> leaves) {
  if (leaves.empty()) return make_error(Errc::corrupt, "a tree needs at least one leaf (got none)");
  CodexTree tree;
  tree.layers_.reserve(tree_depth(leaves.size()) + 1);
  tree.layers_.push_back(std::move(leaves));
  bool bottom = true;
  while (bottom || tree.layers_.back().size() > 1) {
    const auto& below = tree.layers_.back();
    std::vector<Digest> above((below.size() + 1) / 2);
    compress_layer(below.data(), below.size(), bottom, above.data());
    tree.layers_.push_back(std::move(above));
    bottom = false;
  }
  return tree;
}

Result<std::vector<Digest>> CodexTree::proof(std::size_t index) const {
  if (index >= leaf_count())
    return make_error(Errc::usage, "leaf index {} is out of range (the tree has {} leaves)", index, leaf_count());
  std::vector<Digest> path;
  path.reserve(layers_.size() - 1);
  for (std::size_t layer = 0; layer + 1 < layers_.size(); ++layer) {
    const std::size_t sibling = index ^ 1;
    path.push_back(sibling < layers_[layer].size() ? layers_[layer][sibling] : kZero);
    index >>= 1;
  }
  return path;
}

bool verify_codex_proof(const Digest& leaf, std::size_t index, std::size_t leaf_count,
                        std::span<const Digest> path, const Digest& root) {
  // A path of any other length proves nothing about this tree's shape.
  if (leaf_count == 0 || index >= leaf_count || path.size() != tree_depth(leaf_count)) return false;
  Digest h = leaf;
  std::size_t j = index, m = leaf_count;
  bool bottom = true;
  for (const Digest& p : path) {
    const std::uint8_t key = bottom ? 1 : 0;
    if (j % 2 == 1)
      h = sha256_pair(p, h, key);
    else if (j == m - 1)
      h = sha256_pair(h, p, static_cast<std::uint8_t>(key + 2));
    else
      h = sha256_pair(h, p, key);
    bottom = false;
    j >>= 1;
    m = (m + 1) >> 1;
  }
  return h == root;
}

}  // namespace codex
