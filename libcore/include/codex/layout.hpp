// Codex's "stepped" erasure-coding layout (docs/codex-formats.md section 5).
//
//   rounded = roundUp(blocks, K); steps = rounded / K; total = rounded + steps*M
//   EC group s (0 <= s < steps) = indices { s + r*steps : 0 <= r < K+M }
//   row r < K is data (index >= blocks is padding: zeros when coding, the empty
//   block's digest as the tree leaf); row r >= K is parity r-K of the group.
//   slot i = indices [i*steps, (i+1)*steps): row i of every group.
//
// So index = s + r*steps for every block, slot_of(index) = index / steps and
// group_of(index) = index % steps. Unlike nim-codex, K > blocks is allowed: the
// one group is padded (documented in docs/protected-manifest.md).
#pragma once

#include <cstdint>

#include "codex/error.hpp"
#include "codex/manifest.hpp"

namespace codex {

inline constexpr std::uint32_t kMaxFragments = 32;  // liberasurecode 1.6.2: K + M <= 32

struct SteppedLayout {
  std::uint64_t blocks = 0;  // data blocks of the plain dataset
  std::uint32_t k = 0;
  std::uint32_t m = 0;
  std::uint64_t rounded = 0;
  std::uint64_t steps = 0;
  std::uint64_t total = 0;

  // Errc::usage for k < 1, m < 1, k + m > 32 or blocks == 0, with the reason.
  static Result<SteppedLayout> make(std::uint64_t blocks, std::uint32_t k, std::uint32_t m);
  // The layout a protected manifest describes (Errc::corrupt if it has no
  // erasure info or impossible numbers).
  static Result<SteppedLayout> of(const Manifest& manifest);

  std::uint32_t slots() const { return k + m; }
  std::uint64_t index(std::uint64_t group, std::uint32_t row) const { return group + row * steps; }
  std::uint64_t group_of(std::uint64_t index) const { return index % steps; }
  std::uint32_t row_of(std::uint64_t index) const { return static_cast<std::uint32_t>(index / steps); }
  std::uint32_t slot_of(std::uint64_t index) const { return row_of(index); }
  bool is_parity(std::uint64_t index) const { return index >= rounded; }
  bool is_padding(std::uint64_t index) const { return index >= blocks && index < rounded; }
  std::uint64_t slot_begin(std::uint32_t slot) const { return slot * steps; }
  std::uint64_t slot_end(std::uint32_t slot) const { return (slot + 1) * steps; }
};

}  // namespace codex
