// SHA-256, the hash of every CID, tree and proof. One-shot digests use the
// SHA-NI instructions directly where the CPU has them (sha256_ni.hpp), OpenSSL
// otherwise; incremental hashing is OpenSSL's. The batch forms (sha256_each,
// sha256_pairs) let independent messages of equal size hash two at a time,
// which is where most of the tools' CPU time goes.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "codex/bytes.hpp"

namespace codex {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(ByteView data);
// SHA-256 of no bytes: the digest of the empty block (padding leaves).
const Digest& empty_digest();

// For unordered containers keyed by digest (digests are uniform already).
struct DigestHash {
  std::size_t operator()(const Digest& digest) const noexcept {
    std::size_t h = 0;
    for (int i = 0; i < 8; ++i) h = h << 8 | digest[i];
    return h;
  }
};
// The digest of two 32-byte halves and one key byte: CodexTree's compression.
Digest sha256_pair(const Digest& left, const Digest& right, std::uint8_t key);

// out[i] = sha256(inputs[i]) for every i (out.size() == inputs.size()).
// Neighbouring inputs of equal size are hashed together.
void sha256_each(std::span<const ByteView> inputs, std::span<Digest> out);

// One layer of a CodexTree: out[i] = sha256_pair(nodes[2i], nodes[2i+1], key)
// for i < pairs. `out` may alias `nodes` (out[i] is written after the nodes
// it needs are read), so a layer can be folded in place.
void sha256_pairs(const Digest* nodes, std::size_t pairs, std::uint8_t key, Digest* out);

// Incremental hashing for streams of unknown length.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(ByteView data);
  Digest finish();  // resets for reuse

 private:
  void* ctx_;
};

}  // namespace codex
