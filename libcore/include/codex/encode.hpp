// Erasure-coding a plain dataset into a protected one (K data + M parity
// slots, Codex's stepped layout, liberasurecode parity, SHA-256 slot roots).
// The output is a CAR stream: every block of the protected dataset in index
// order (data, padding as the empty block, parity) and the protected manifest
// (format P, docs/protected-manifest.md) last.
#pragma once

#include <cstdint>
#include <string>

#include "codex/block_source.hpp"
#include "codex/car.hpp"
#include "codex/cid.hpp"
#include "codex/error.hpp"
#include "codex/io.hpp"
#include "codex/layout.hpp"
#include "codex/manifest.hpp"
#include "codex/repository.hpp"

namespace codex {

inline constexpr std::uint32_t kDefaultCellSize = 2048;

struct EncodeOptions {
  std::uint32_t k = 0;
  std::uint32_t m = 0;
  std::string backend;    // empty: default_backend()
  std::string spill_dir;  // where the temporary spill file goes (next to the repository)
  bool root_placeholder = false;  // as ChunkOptions::root_placeholder
};

struct EncodeResult {
  Cid manifest_cid;
  Manifest manifest;
  Cid original_cid;  // the plain dataset's manifest CID
  SteppedLayout layout;
};

// Encodes the plain dataset read from a CAR stream (as codex-chunk writes it).
Result<EncodeResult> encode_stream(ByteSource& input, CarWriter& output, const EncodeOptions& options);
// Encodes a plain dataset held in the repository, its blocks read from `source`.
Result<EncodeResult> encode_stored(Repository& repository, BlockSource& source, const Cid& manifest_cid, CarWriter& output,
                                   const EncodeOptions& options);

}  // namespace codex
