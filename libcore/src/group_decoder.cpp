// Decoding one EC group; see group_decoder.hpp.
#include "group_decoder.hpp"

#include <fmt/format.h>

#include "codex/cid.hpp"

namespace codex {

std::string describe_bad_rows(const GroupRebuild& rebuild) {
  std::string text;
  for (const auto& row : rebuild.bad) {
    if (!text.empty()) text += ", ";
    text += fmt::format("row {} (block {}) {}", row.row, row.index, row.why == Errc::corrupt ? "corrupt" : "missing");
  }
  return text;
}

Result<GroupRebuild> rebuild_group(BlockSource& source, const SteppedLayout& layout, std::span<const Digest> leaves,
                                   ErasureCoder& coder, std::uint64_t group,
                                   const std::function<bool(std::uint32_t row)>& wanted) {
  const std::uint32_t rows = layout.slots();
  const std::size_t block_size = coder.block_size();
  std::vector<Digest> digests;
  std::vector<std::uint32_t> stored_rows;  // rows that are real blocks (not padding)
  for (std::uint32_t row = 0; row < rows; ++row) {
    std::uint64_t index = layout.index(group, row);
    if (layout.is_padding(index)) continue;
    stored_rows.push_back(row);
    digests.push_back(leaves[index]);
  }
  std::vector<Bytes> blocks(digests.size());
  std::vector<Status> status(digests.size());
  source.read_many(digests, blocks, status);

  GroupRebuild result;
  result.group = group;
  std::vector<const std::uint8_t*> fragments(rows, nullptr);
  Bytes zeros;  // padding rows are zero blocks to the coder
  for (std::uint32_t row = 0; row < rows; ++row) {
    if (!layout.is_padding(layout.index(group, row))) continue;
    if (zeros.empty()) zeros.assign(block_size, 0);
    fragments[row] = zeros.data();
  }
  std::uint32_t intact = rows - static_cast<std::uint32_t>(stored_rows.size());  // padding rows are known zeros
  for (std::size_t i = 0; i < stored_rows.size(); ++i) {
    const std::uint32_t row = stored_rows[i];
    if (status[i].ok() && blocks[i].size() == block_size) {
      fragments[row] = blocks[i].data();
      ++intact;
    } else {
      Errc why = status[i].ok() ? Errc::corrupt : status[i].error().code;
      if (why != Errc::not_found) why = Errc::corrupt;
      result.bad.push_back({row, layout.index(group, row), why, {}});
    }
  }
  if (result.bad.empty()) return result;
  if (intact < layout.k)
    return make_error(Errc::unrecoverable, "EC group {} has {} of {} blocks intact, needs {}: {}", group, intact, rows,
                      layout.k, describe_bad_rows(result));

  std::vector<std::uint8_t*> out(rows, nullptr);
  for (auto& bad : result.bad) {
    if (!wanted(bad.row)) continue;
    bad.block.resize(block_size);
    out[bad.row] = bad.block.data();
  }
  CODEX_TRY(coder.reconstruct(fragments, out));
  for (auto& bad : result.bad) {
    if (bad.block.empty()) continue;
    if (sha256(bad.block) != leaves[bad.index])
      return make_error(Errc::corrupt, "block {} rebuilt from EC group {} does not match its CID '{}'", bad.index, group,
                        Cid::from_digest(codec::block, leaves[bad.index]).to_string());
  }
  return result;
}

}  // namespace codex
