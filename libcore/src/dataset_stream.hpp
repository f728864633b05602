// Reading a dataset's CAR stream (blocks in index order, manifest last) and
// checking it: each entry's CID (a sha2-256 codex-block), each block's bytes
// against its CID (on every core), and at the end the manifest against the
// blocks (count, sizes, padding, tree root, original tree of a protected
// dataset). Blocks reach the caller a batch at a time, in order, while the next
// batch is being read. Shared by put (which stores them) and encode (which
// codes them).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "codex/car.hpp"
#include "codex/io.hpp"
#include "codex/layout.hpp"
#include "codex/manifest.hpp"

namespace codex {

struct StreamBlock {
  std::uint64_t index;  // dataset index (dense streams); entry ordinal (sparse streams)
  Digest digest;  // from the entry's CID
  ByteView data;
  bool intact;    // the bytes hash to the digest
  std::uint64_t offset;  // where `data` starts in the stream (for ByteSource::read_at)
  Digest cell_root{};    // only when read_dataset_stream is given a cell size
};

struct CheckedDataset {
  Cid manifest_cid;
  Bytes manifest_bytes;
  Manifest manifest;
  std::vector<Digest> leaves;           // the tree's leaves (claimed digests, index order)
  std::optional<SteppedLayout> layout;  // for a protected dataset
  std::vector<Digest> corrupt;          // entries whose bytes did not match their CID (only when tolerated)
  // A sparse stream starts with a leaf-list block and carries only some of
  // the blocks, in any order (docs/car-streams.md); `leaves` then come from
  // the list.
  bool sparse = false;
};

// Reads and checks the whole stream. on_batch sees every block; a block that
// does not match its CID is an error unless `tolerate_corrupt` (then it is
// passed with intact = false and its digest listed in `corrupt`). With a
// cell_size, each block also gets its cell root (block_cell_root), computed
// in the same pass over its bytes as the check of its CID (the encoder needs
// both).
Result<CheckedDataset> read_dataset_stream(ByteSource& input, bool tolerate_corrupt,
                                           const std::function<Status(std::span<const StreamBlock>)>& on_batch,
                                           std::size_t cell_size = 0);

}  // namespace codex
