// Decoding one EC group; see group_decoder.hpp.
#include "group_decoder.hpp"

#include <fmt/format.h>

#include "codex/cid.hpp"
#include "codex/parallel.hpp"

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
  std::vector<Digest> digests;
  std::vector<std::uint32_t> stored_rows;  // rows that are real blocks (not padding)
  for (std::uint32_t row = 0; row < rows; ++row) {
    std::uint64_t index = layout.index(group, row);
    if (layout.is_padding(index)) continue;
    stored_rows.push_back(row);
    digests.push_back(leaves[index]);
  }
  std::vector<Bytes> read(digests.size());
  std::vector<Status> read_status(digests.size());
  source.read_many(digests, read, read_status);
  std::vector<Bytes> blocks(rows);
  std::vector<Status> status(rows);
  for (std::size_t i = 0; i < stored_rows.size(); ++i) {
    blocks[stored_rows[i]] = std::move(read[i]);
    status[stored_rows[i]] = std::move(read_status[i]);
  }
  return decode_group(layout, leaves, coder, group, blocks, status, wanted);
}

namespace {

Status rebuilt_mismatch(std::uint64_t index, std::uint64_t group, std::span<const Digest> leaves) {
  return make_error(Errc::corrupt, "block {} rebuilt from EC group {} does not match its CID '{}'", index, group,
                    Cid::from_digest(codec::block, leaves[index]).to_string());
}

}  // namespace

Status check_rebuilt(std::span<const GroupRebuild> rebuilds, std::span<const Digest> leaves) {
  std::vector<ByteView> blocks;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> which;  // index, group
  for (const GroupRebuild& rebuild : rebuilds)
    for (const auto& bad : rebuild.bad) {
      if (bad.block.empty()) continue;
      blocks.push_back(bad.block);
      which.emplace_back(bad.index, rebuild.group);
    }
  std::vector<Digest> digests(blocks.size());
  sha256_parallel(blocks, digests);
  for (std::size_t i = 0; i < which.size(); ++i)
    if (digests[i] != leaves[which[i].first]) return rebuilt_mismatch(which[i].first, which[i].second, leaves);
  return {};
}

Result<GroupRebuild> decode_group(const SteppedLayout& layout, std::span<const Digest> leaves, ErasureCoder& coder,
                                  std::uint64_t group, std::span<const Bytes> blocks, std::span<const Status> status,
                                  const std::function<bool(std::uint32_t row)>& wanted, bool check_rebuilt,
                                  BlockBuffers* buffers) {
  const std::uint32_t rows = layout.slots();
  const std::size_t block_size = coder.block_size();
  GroupRebuild result;
  result.group = group;
  std::vector<const std::uint8_t*> fragments(rows, nullptr);
  Bytes zeros;  // padding rows are zero blocks to the coder
  std::uint32_t intact = 0;
  for (std::uint32_t row = 0; row < rows; ++row) {
    const std::uint64_t index = layout.index(group, row);
    if (layout.is_padding(index)) {
      if (zeros.empty()) zeros.assign(block_size, 0);
      fragments[row] = zeros.data();
      ++intact;  // padding rows are known zeros
    } else if (status[row].ok() && blocks[row].size() == block_size) {
      fragments[row] = blocks[row].data();
      ++intact;
    } else {
      Errc why = status[row].ok() ? Errc::corrupt : status[row].error().code;
      if (why != Errc::not_found) why = Errc::corrupt;
      result.bad.push_back({row, index, why, {}});
    }
  }
  if (result.bad.empty()) return result;
  if (intact < layout.k)
    return make_error(Errc::unrecoverable, "EC group {} has {} of {} blocks intact, needs {}: {}", group, intact, rows,
                      layout.k, describe_bad_rows(result));

  std::vector<std::uint8_t*> out(rows, nullptr);
  for (auto& bad : result.bad) {
    if (!wanted(bad.row)) continue;
    if (buffers) bad.block = buffers->take();
    else bad.block.resize(block_size);
    out[bad.row] = bad.block.data();
  }
  CODEX_TRY(coder.reconstruct(fragments, out));
  if (!check_rebuilt) return result;  // the caller checks (check_rebuilt)
  // Every rebuilt block against its leaf, hashed together (sha256_each).
  std::vector<ByteView> rebuilt;
  std::vector<const GroupRebuild::Row*> which;
  for (const auto& bad : result.bad) {
    if (bad.block.empty()) continue;
    rebuilt.push_back(bad.block);
    which.push_back(&bad);
  }
  std::vector<Digest> digests(rebuilt.size());
  sha256_each(rebuilt, digests);
  for (std::size_t i = 0; i < which.size(); ++i)
    if (digests[i] != leaves[which[i]->index]) return rebuilt_mismatch(which[i]->index, group, leaves).error();
  return result;
}

Bytes BlockBuffers::take() {
  Bytes buffer;
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      buffer = std::move(free_.back());
      free_.pop_back();
    }
  }
  buffer.resize(block_size_);  // no-op for a buffer given back (they hold a block)
  return buffer;
}

void BlockBuffers::give(Bytes buffer) {
  if (buffer.size() != block_size_) return;  // not one of ours (an empty or short block)
  std::lock_guard lock(mutex_);
  if (free_.size() < most_) free_.push_back(std::move(buffer));
}

Result<std::unique_ptr<ErasureCoder>> CoderPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      auto coder = std::move(free_.back());
      free_.pop_back();
      return coder;
    }
  }
  CODEX_TRY_ASSIGN(auto coder, ErasureCoder::open(backend_, k_, m_, block_size_));
  return std::make_unique<ErasureCoder>(std::move(coder));
}

void CoderPool::release(std::unique_ptr<ErasureCoder> coder) {
  std::lock_guard lock(mutex_);
  free_.push_back(std::move(coder));
}

}  // namespace codex
