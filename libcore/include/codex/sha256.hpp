// SHA-256 through OpenSSL (which uses the SHA-NI instructions where the CPU has
// them). The digest type is shared by CIDs, trees and proofs.
#pragma once

#include <array>
#include <cstdint>

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
