// CodexTree: the vectors' roots and proofs, the dataset trees of the vectors'
// inputs, and proofs of every leaf of small trees, good and tampered with.
#include "codex/codex_tree.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

namespace codex {
namespace {

nlohmann::json load_vectors() {
  std::ifstream in(std::string(CODEX_TEST_DATA) + "/codex-vectors.json");
  return nlohmann::json::parse(in);
}

std::vector<Digest> ascii_leaves(const nlohmann::json& vectors) {
  std::vector<Digest> leaves;
  for (const auto& text : vectors["codextree_ascii_leaves"]["leaves_ascii"]) {
    const std::string s = text;
    Digest d{};
    EXPECT_EQ(s.size(), 32u);
    std::copy(s.begin(), s.end(), d.begin());
    leaves.push_back(d);
  }
  return leaves;
}

// The bytes of a vectors dataset entry: "input_ascii", or "N bytes, byte i = i mod 251".
Bytes dataset_input(const nlohmann::json& entry) {
  if (entry.contains("input_ascii")) {
    const std::string s = entry["input_ascii"];
    return Bytes(s.begin(), s.end());
  }
  const std::string description = entry["input"];
  unsigned long size = 0;
  EXPECT_EQ(std::sscanf(description.c_str(), "%lu bytes, byte i = i mod 251", &size), 1) << description;
  Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(i % 251);
  return bytes;
}

TEST(CodexTree, AsciiLeafRoots) {
  const auto vectors = load_vectors();
  const auto leaves = ascii_leaves(vectors);
  ASSERT_EQ(leaves.size(), 10u);
  int checked = 0;
  for (const auto& [n_text, root_hex] : vectors["codextree_ascii_leaves"]["roots"].items()) {
    const std::size_t n = std::stoul(n_text);
    const std::span<const Digest> first(leaves.data(), n);
    auto root = codex_tree_root(first);
    ASSERT_TRUE(root);
    EXPECT_EQ(to_hex(*root), root_hex.get<std::string>()) << "n = " << n;
    auto tree = CodexTree::build(std::vector<Digest>(first.begin(), first.end()));
    ASSERT_TRUE(tree);
    EXPECT_EQ(tree->root(), *root) << "n = " << n;
    EXPECT_EQ(tree->leaf_count(), n);
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

TEST(CodexTree, OneLeafIsCompressedWithZeros) {
  const Digest leaf = sha256(as_bytes("leaf"));
  auto root = codex_tree_root(std::span<const Digest>(&leaf, 1));
  ASSERT_TRUE(root);
  EXPECT_EQ(*root, sha256_pair(leaf, Digest{}, 3));
  EXPECT_NE(*root, leaf);
}

TEST(CodexTree, NoLeavesIsAnError) {
  auto root = codex_tree_root({});
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().code, Errc::corrupt);
  EXPECT_FALSE(CodexTree::build({}));
}

TEST(CodexTree, ProofsOfTenLeavesMatchVectors) {
  const auto vectors = load_vectors();
  auto tree = CodexTree::build(ascii_leaves(vectors));
  ASSERT_TRUE(tree);
  for (const auto& [index_text, path_hex] : vectors["codextree_ascii_leaves"]["proofs_n10"].items()) {
    const std::size_t index = std::stoul(index_text);
    auto proof = tree->proof(index);
    ASSERT_TRUE(proof);
    ASSERT_EQ(proof->size(), path_hex.size()) << "index " << index;
    for (std::size_t i = 0; i < proof->size(); ++i)
      EXPECT_EQ(to_hex((*proof)[i]), path_hex[i].get<std::string>()) << "index " << index << " step " << i;
    EXPECT_TRUE(verify_codex_proof(tree->leaves()[index], index, 10, *proof, tree->root()));
  }
  EXPECT_FALSE(tree->proof(10));
}

TEST(CodexTree, EveryProofVerifiesAndTamperingFails) {
  for (std::size_t n = 1; n <= 33; ++n) {
    std::vector<Digest> leaves;
    for (std::size_t i = 0; i < n; ++i) leaves.push_back(sha256(as_bytes(std::to_string(i))));
    auto tree = CodexTree::build(leaves);
    ASSERT_TRUE(tree);
    ASSERT_EQ(tree->root(), *codex_tree_root(leaves));
    for (std::size_t index = 0; index < n; ++index) {
      auto proof = tree->proof(index);
      ASSERT_TRUE(proof);
      const Digest& root = tree->root();
      ASSERT_TRUE(verify_codex_proof(leaves[index], index, n, *proof, root)) << n << "/" << index;
      EXPECT_FALSE(verify_codex_proof(sha256(as_bytes("other")), index, n, *proof, root));
      if (n > 1) {
        EXPECT_FALSE(verify_codex_proof(leaves[index], (index + 1) % n, n, *proof, root));
      }
      EXPECT_FALSE(verify_codex_proof(leaves[index], index + n, n, *proof, root));
      EXPECT_FALSE(verify_codex_proof(leaves[index], index, 0, *proof, root));
      auto longer = *proof;
      longer.push_back(Digest{});
      EXPECT_FALSE(verify_codex_proof(leaves[index], index, n, longer, root));
      auto shorter = *proof;
      shorter.pop_back();
      EXPECT_FALSE(verify_codex_proof(leaves[index], index, n, shorter, root));
      for (std::size_t step = 0; step < proof->size(); ++step) {
        auto bent = *proof;
        bent[step][0] ^= 1;
        EXPECT_FALSE(verify_codex_proof(leaves[index], index, n, bent, root)) << n << "/" << index << "/" << step;
      }
    }
  }
}

TEST(CodexTree, DatasetTreesOfVectors) {
  const auto vectors = load_vectors();
  int datasets = 0;
  for (const auto& [name, entry] : vectors.items()) {
    if (name.rfind("dataset_", 0) != 0) continue;
    ++datasets;
    const Bytes input = dataset_input(entry);
    const std::size_t block_size = entry["blockSize"];
    std::vector<Digest> leaves;
    std::size_t block = 0;
    for (std::size_t offset = 0; offset < input.size(); offset += block_size, ++block) {
      Bytes padded(block_size, 0);
      const std::size_t take = std::min(block_size, input.size() - offset);
      std::copy_n(input.begin() + static_cast<std::ptrdiff_t>(offset), take, padded.begin());
      leaves.push_back(sha256(padded));
      ASSERT_LT(block, entry["block_cids"].size()) << name;
      EXPECT_EQ(block_cid(padded).to_string(), entry["block_cids"][block].get<std::string>()) << name;
    }
    EXPECT_EQ(leaves.size(), entry["block_cids"].size()) << name;
    auto root = codex_tree_root(leaves);
    ASSERT_TRUE(root);
    EXPECT_EQ(to_hex(*root), entry["tree_root_hex"].get<std::string>()) << name;
    EXPECT_EQ(Cid::from_digest(codec::root, *root).to_string(), entry["tree_cid"].get<std::string>()) << name;
  }
  EXPECT_GE(datasets, 4);
}

}  // namespace
}  // namespace codex
