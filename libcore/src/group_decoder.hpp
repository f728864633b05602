// Rebuilding the bad blocks of one EC group of a protected dataset: read every
// row of the group from a block source (each checked against its CID), and
// when some are missing or corrupt, decode them from the good ones and check
// each rebuilt block against the dataset tree's leaf. Used by get (data rows)
// and repair (the rows of held slots).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "codex/block_source.hpp"
#include "codex/erasure.hpp"
#include "codex/layout.hpp"
#include "codex/sha256.hpp"

namespace codex {

struct GroupRebuild {
  std::uint64_t group = 0;
  struct Row {
    std::uint32_t row;
    std::uint64_t index;
    Errc why;      // not_found or corrupt
    Bytes block;   // the rebuilt bytes (empty if the row was not wanted)
  };
  std::vector<Row> bad;  // rows that were missing or corrupt, rebuilt where wanted
};

// `wanted(row)`: rebuild this bad row. Errc::unrecoverable when fewer than K
// rows of the group are intact, naming them; Errc::corrupt if a rebuilt block
// fails its leaf (the decoder returned wrong bytes).
Result<GroupRebuild> rebuild_group(BlockSource& source, const SteppedLayout& layout, std::span<const Digest> leaves,
                                   ErasureCoder& coder, std::uint64_t group,
                                   const std::function<bool(std::uint32_t row)>& wanted);

// A one-line account of a group's bad rows, e.g. "rows 1 (index 4) missing, 3 (index 10) corrupt".
std::string describe_bad_rows(const GroupRebuild& rebuild);

}  // namespace codex
