// Getting a dataset's bytes back.
//
// Into a pipe (or anything else written in order): blocks are read a batch
// at a time (index lookups, then reads and digest checks on every core) and
// written in order, cut to the dataset size. For a protected dataset, the bad
// data blocks of a batch are rebuilt by decoding their EC groups, together on
// every core; a group's other bad data blocks, needed later in the stream, are
// kept in a spill file so that each group is decoded once and memory stays
// bounded.
// Into a file (an output that can be written at positions), a protected
// dataset goes group by group instead (get_by_groups): each block is read and
// checked once, each damaged group decoded once, on every core, and every
// block written straight to its place; nothing is spilled.
// Before writing anything, every block is looked up, so a dataset with an EC
// group short of K blocks fails without output; corruption, found as blocks
// are hashed, stops the get after correct bytes only.
#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>

#include "codex/block_source.hpp"
#include "codex/dataset.hpp"
#include "codex/layout.hpp"
#include "codex/parallel.hpp"
#include "background_thread.hpp"
#include "fingerprint.hpp"
#include "group_decoder.hpp"
#include "take_turns.hpp"
#include "temp_file.hpp"

namespace codex {
namespace {

constexpr std::size_t kGroupBatchBytes = 8 << 20;  // of data rows, for get_by_groups
// Of all rows, for the groups InOrderRebuild decodes at once (up to 21
// groups of 4 + 2 rows of 64 KiB; rounds are then made equal, 16 groups for a
// batch of 64 bad blocks, whose reads and rebuilt blocks make whole runs of
// sixteen for both cores).
constexpr std::size_t kRebuildRoundBytes = 8 << 20;

// Rebuilt blocks waiting for their turn in the output, in a temporary file.
// They are written behind, by a thread of their own, so that the thread
// keeping the output in order does not wait on the page cache (writing the
// spill was 7 % of that thread's time, and it was the busiest); each block's
// buffer is handed over, not copied, and goes back to `buffers` once written.
// At most kSpillBehind blocks wait to be written, so memory stays bounded.
// When their turn comes they go from the file to the output (write_to),
// which for a pipe means without being copied through this process.
class SpillFile {
 public:
  SpillFile(std::string dir, BlockBuffers& buffers) : dir_(std::move(dir)), buffers_(buffers) {}

  Status put(std::uint64_t index, Bytes block) {
    if (!file_) {
      CODEX_TRY_ASSIGN(auto file, TempFile::create(dir_));
      file_.emplace(std::move(file));
      writer_ = std::make_unique<BackgroundThread>();
    }
    {
      std::unique_lock lock(mutex_);
      written_.wait(lock, [this] { return behind_ < kSpillBehind; });
      if (!failed_.ok()) return failed_;
      ++behind_;
    }
    const std::uint64_t offset = end_;
    where_[index] = {offset, block.size()};
    end_ += block.size();
    writer_->post([this, offset, block = std::move(block)]() mutable {
      Status status = file_->write_at(offset, block);
      buffers_.give(std::move(block));
      std::lock_guard lock(mutex_);
      if (failed_.ok()) failed_ = std::move(status);
      --behind_;
      written_.notify_all();
    });
    return {};
  }

  bool holds(std::uint64_t index) const { return where_.count(index) != 0; }
  static constexpr std::size_t kSpillBehind = 64;  // blocks: 4 MiB of 64 KiB blocks

  // Writes the first `size` bytes of spilled block `index` to `output` (a
  // pipe takes them straight from the file's pages) and forgets it.
  Status write_to(std::uint64_t index, ByteSink& output, std::uint64_t size) {
    writer_->wait_idle();
    {
      std::lock_guard lock(mutex_);
      if (!failed_.ok()) return failed_;
    }
    auto it = where_.find(index);
    CODEX_TRY(output.write_from(file_->file(), it->second.first, std::min<std::uint64_t>(size, it->second.second)));
    where_.erase(it);
    return {};
  }

 private:
  std::string dir_;
  BlockBuffers& buffers_;
  std::optional<TempFile> file_;
  std::uint64_t end_ = 0;
  std::map<std::uint64_t, std::pair<std::uint64_t, std::size_t>> where_;  // index -> offset, size
  std::mutex mutex_;  // guards the members below, shared with the writer thread
  std::condition_variable written_;
  std::size_t behind_ = 0;  // blocks handed to the writer, not yet written
  Status failed_;           // the first failed write
  std::unique_ptr<BackgroundThread> writer_;  // last: joined (its jobs run) before the file closes
};

// Reads the blocks `digests` with one read_many (on the calling thread:
// sources are used from one) into blocks[where[i]] and status[where[i]].
// `read` and `read_status` are the caller's scratch, kept from call to call:
// buffers are swapped in, not copied, and go round.
void read_into(BlockSource& source, std::span<const Digest> digests, std::span<const std::size_t> where,
               std::vector<Bytes>& read, std::vector<Status>& read_status, std::span<Bytes> blocks,
               std::span<Status> status) {
  read.resize(std::max(read.size(), digests.size()));
  read_status.resize(digests.size());
  source.read_many(digests, std::span<Bytes>(read.data(), digests.size()), read_status);
  for (std::size_t i = 0; i < digests.size(); ++i) {
    std::swap(blocks[where[i]], read[i]);
    status[where[i]] = std::move(read_status[i]);
  }
}

// Which of leaves[begin, end) the source holds, a run at a time (one
// has_many per run rather than a has per block): here(index, held) for each.
constexpr std::size_t kLookupsPerRun = 4096;
Status for_each_held(BlockSource& source, std::span<const Digest> leaves, std::uint64_t begin, std::uint64_t end,
                     const std::function<void(std::uint64_t, bool)>& here) {
  for (std::uint64_t first = begin; first < end; first += kLookupsPerRun) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kLookupsPerRun, end - first));
    CODEX_TRY_ASSIGN(std::vector<bool> held, source.has_many(leaves.subspan(first, n)));
    for (std::size_t i = 0; i < n; ++i) here(first + i, held[i]);
  }
  return {};
}

// Every group must have K blocks the repository at least claims to hold.
Status check_groups_present(BlockSource& source, const SteppedLayout& layout, std::span<const Digest> leaves,
                            const Cid& cid) {
  std::vector<std::uint32_t> present(layout.steps, 0);
  auto tally = [&](std::uint64_t index, bool held) {
    if (held) ++present[layout.group_of(index)];
  };
  // Padding blocks (known zeros, not stored) count as present.
  CODEX_TRY(for_each_held(source, leaves, 0, layout.blocks, tally));
  for (std::uint64_t index = layout.blocks; index < layout.rounded; ++index) tally(index, true);
  CODEX_TRY(for_each_held(source, leaves, layout.rounded, layout.total, tally));
  std::string lacking;
  std::uint64_t count = 0;
  for (std::uint64_t group = 0; group < layout.steps; ++group) {
    if (present[group] >= layout.k) continue;
    if (++count <= 8) lacking += fmt::format("{}group {} has {} of {} blocks", lacking.empty() ? "" : "; ", group,
                                             present[group], layout.slots());
  }
  if (count == 0) return {};
  return make_error(Errc::unrecoverable,
                    "dataset '{}' cannot be rebuilt: {} of {} EC groups have fewer than K={} blocks ({}{})",
                    cid.to_string(), count, layout.steps, layout.k, lacking, count > 8 ? "; …" : "");
}

Status check_plain_present(BlockSource& source, std::span<const Digest> leaves, const Cid& cid) {
  std::uint64_t missing = 0;
  std::string first;
  CODEX_TRY(for_each_held(source, leaves, 0, leaves.size(), [&](std::uint64_t index, bool held) {
    if (held) return;
    if (++missing == 1)
      first = fmt::format("block {} '{}'", index, Cid::from_digest(codec::block, leaves[index]).to_string());
  }));
  if (missing == 0) return {};
  return make_error(Errc::unrecoverable, "dataset '{}' is incomplete: {} of {} blocks are missing (first: {})",
                    cid.to_string(), missing, leaves.size(), first);
}

// A protected dataset into an output that can be written at positions (a
// file), group by group: a batch of groups' data rows is read (and checked)
// at once; the groups with a bad row get their parity rows read too and are
// decoded, on every core, each once; every data row then goes straight to
// its place. No block is read twice and nothing is spilled, whatever is lost.
Status get_by_groups(BlockSource& source, const SteppedLayout& layout, std::span<const Digest> leaves,
                     const Manifest& manifest, std::uint64_t size, ByteSink& output, const GetOptions& options,
                     GetResult& result) {
  const std::size_t bs = static_cast<std::size_t>(manifest.block_size);
  const std::uint32_t k = layout.k, rows = layout.slots();
  const std::size_t per_batch = std::max<std::size_t>(1, kGroupBatchBytes / (k * bs));
  CoderPool coders(manifest.erasure->backend, k, layout.m, bs);
  std::vector<Bytes> blocks(per_batch * rows);  // group g's row r at g * rows + r
  std::vector<Status> status(per_batch * rows);
  std::vector<Digest> digests;
  std::vector<std::size_t> slots;  // where each digest's block goes in `blocks`
  std::vector<Bytes> read;
  std::vector<Status> read_status;
  // Reads the listed entries of `blocks`.
  auto read_slots = [&]() { read_into(source, digests, slots, read, read_status, blocks, status); };
  std::vector<GroupRebuild> rebuilt(per_batch);
  std::vector<Status> group_status(per_batch);
  std::uint64_t written = 0;
  for (std::uint64_t first = 0; first < layout.steps; first += per_batch) {
    const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(per_batch, layout.steps - first));
    digests.clear();
    slots.clear();
    for (std::size_t g = 0; g < count; ++g)
      for (std::uint32_t row = 0; row < k; ++row) {
        const std::uint64_t index = layout.index(first + g, row);
        if (layout.is_padding(index)) continue;
        digests.push_back(leaves[index]);
        slots.push_back(g * rows + row);
      }
    read_slots();
    std::vector<bool> damaged(count, false);
    digests.clear();
    slots.clear();
    for (std::size_t g = 0; g < count; ++g) {
      for (std::uint32_t row = 0; row < k; ++row)
        if (!layout.is_padding(layout.index(first + g, row)) && !status[g * rows + row].ok()) damaged[g] = true;
      if (!damaged[g]) continue;
      for (std::uint32_t row = k; row < rows; ++row) {
        digests.push_back(leaves[layout.index(first + g, row)]);
        slots.push_back(g * rows + row);
      }
    }
    read_slots();
    // Each group's blocks are written by the pool's threads in turn: one that
    // finds the output taken goes on decoding (take_turns.hpp).
    TakeTurns<std::size_t> writes([&](std::size_t& g) {
      for (std::uint32_t row = 0; row < k; ++row) {
        const std::uint64_t index = layout.index(first + g, row);
        if (index >= layout.blocks) continue;  // padding
        const std::uint64_t offset = index * bs;
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(bs, size - std::min(size, offset)));
        Status written = output.write_at(offset, ByteView(blocks[g * rows + row].data(), take));
        if (!written.ok()) {
          group_status[g] = std::move(written);
          return;
        }
      }
    });
    default_pool().for_each(count, [&](std::size_t g) {
      group_status[g] = [&]() -> Status {
        const std::uint64_t group = first + g;
        rebuilt[g].bad.clear();
        if (damaged[g]) {
          CODEX_TRY_ASSIGN(auto coder, coders.acquire());
          auto decoded = decode_group(layout, leaves, *coder, group,
                                      std::span<const Bytes>(blocks.data() + g * rows, rows),
                                      std::span<const Status>(status.data() + g * rows, rows),
                                      [k](std::uint32_t row) { return row < k; });
          coders.release(std::move(coder));
          if (!decoded) return std::move(decoded).error();
          rebuilt[g] = std::move(*decoded);
          for (auto& bad : rebuilt[g].bad)
            if (bad.row < k) std::swap(blocks[g * rows + bad.row], bad.block);
        }
        return {};
      }();
      if (group_status[g].ok()) writes.offer(g);
    });
    writes.drain();  // the pool's threads are done: nobody else is writing
    for (std::size_t g = 0; g < count; ++g) {
      if (!group_status[g].ok()) {
        // Blocks are written where they belong, not in order: keep only the
        // prefix before the first block of this failed group (row 0 has the
        // group's lowest index), so the output never holds wrong bytes.
        const std::uint64_t keep = std::min(size, layout.index(first + g, 0) * bs);
        (void)output.truncate_at(keep);
        return group_status[g];
      }
      for (const auto& bad : rebuilt[g].bad) {
        if (bad.row >= k) continue;
        result.rebuilt.push_back({bad.index, bad.why == Errc::corrupt ? "corrupt" : "missing"});
        if (options.on_rebuilt) options.on_rebuilt(result.rebuilt.back());
      }
      for (std::uint32_t row = 0; row < k; ++row)
        if (layout.index(first + g, row) < layout.blocks)
          written += std::min<std::uint64_t>(bs, size - std::min<std::uint64_t>(size, layout.index(first + g, row) * bs));
    }
    if (options.on_progress) options.on_progress(written);
  }
  result.bytes = written;
  return {};
}

// In-order output of a protected dataset: the bad blocks of each batch of
// data blocks are put right, batch after batch. One rebuilt earlier waits in
// the spill file (and goes from there to the output); for the others, their
// groups are read (one read_many,
// hashed on every core) and decoded on every core, a few groups at a time to
// bound memory. Each group is decoded once: its bad data rows past this batch
// are spilled for their turn.
// The intact data rows read to decode a group ahead of their turn in the
// output are fingerprinted (`ahead`, by block index): when their turn comes
// they are read again and compared with it rather than hashed a second time
// (BlockSource::read_many_again, given known()).
// The buffers (rows read, blocks rebuilt) are kept from batch to batch: new
// ones each batch were zeroed and faulted in again, 4 % of such a get.
class InOrderRebuild {
 public:
  InOrderRebuild(BlockSource& source, const SteppedLayout& layout, std::span<const Digest> leaves,
                 const Manifest& manifest, const std::string& spill_dir, const GetOptions& options, GetResult& result)
      : source_(source),
        layout_(layout),
        leaves_(leaves),
        block_size_(static_cast<std::size_t>(manifest.block_size)),
        most_groups_(std::max<std::size_t>(1, kRebuildRoundBytes / (layout.slots() * block_size_))),
        coders_(manifest.erasure->backend, layout.k, layout.m, block_size_),
        rebuilt_buffers_(block_size_, most_groups_ * layout.m + SpillFile::kSpillBehind),
        spill_(spill_dir, rebuilt_buffers_),
        ahead_(layout.blocks),
        options_(options),
        result_(result) {}

  // The fingerprint of data block `index` if it was read (and checked) ahead.
  std::optional<std::uint64_t> known(std::uint64_t index) const { return ahead_[index]; }

  // Block `index` was rebuilt with an earlier batch: write_spilled() writes it.
  bool spilled(std::uint64_t index) const { return spill_.holds(index); }
  Status write_spilled(std::uint64_t index, ByteSink& output, std::uint64_t size) {
    return spill_.write_to(index, output, size);
  }

  // Puts right the bad blocks of a batch, but those spilled (see spilled()):
  // blocks[i] is block start + i, status[i] how reading it went.
  Status rebuild(std::uint64_t start, std::span<Bytes> blocks, std::span<Status> status) {
    std::vector<std::uint64_t> groups;  // to decode, in the order of their first bad block here
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      if (status[i].ok() || spill_.holds(start + i)) continue;
      const std::uint64_t group = layout_.group_of(start + i);
      if (std::find(groups.begin(), groups.end(), group) == groups.end()) groups.push_back(group);
    }
    if (groups.empty()) return {};
    // Rounds of equal size (a last round of one group would leave a core idle).
    const std::size_t rounds = (groups.size() + most_groups_ - 1) / most_groups_;
    const std::size_t per_round = (groups.size() + rounds - 1) / rounds;
    for (std::size_t first = 0; first < groups.size(); first += per_round) {
      const std::size_t count = std::min(per_round, groups.size() - first);
      CODEX_TRY(rebuild_round(std::span<const std::uint64_t>(groups).subspan(first, count), start, blocks, status));
    }
    return {};
  }

 private:
  // Reads and decodes `groups`, puts their rebuilt blocks of this batch in
  // place and spills those of later batches.
  Status rebuild_round(std::span<const std::uint64_t> groups, std::uint64_t start, std::span<Bytes> blocks,
                       std::span<Status> status) {
    const std::uint32_t rows = layout_.slots(), k = layout_.k;
    const std::size_t count = groups.size();
    if (group_blocks_.size() < count * rows) {
      group_blocks_.resize(count * rows);
      group_status_.resize(count * rows);
    }
    digests_.clear();
    where_.clear();
    for (std::size_t g = 0; g < count; ++g)
      for (std::uint32_t row = 0; row < rows; ++row) {
        const std::uint64_t index = layout_.index(groups[g], row);
        if (layout_.is_padding(index)) continue;
        digests_.push_back(leaves_[index]);
        where_.push_back(g * rows + row);
      }
    read_into(source_, digests_, where_, read_, read_status_, group_blocks_, group_status_);
    const std::uint64_t end = start + blocks.size();
    std::vector<std::optional<Result<GroupRebuild>>> decoded(count);
    default_pool().for_each(count, [&](std::size_t g) {
      const std::uint64_t group = groups[g];
      for (std::uint32_t row = 0; row < k; ++row) {
        const std::uint64_t index = layout_.index(group, row);
        const Bytes& block = group_blocks_[g * rows + row];
        if (index >= end && index < layout_.blocks && group_status_[g * rows + row].ok() && block.size() == block_size_)
          ahead_[index] = block_fingerprint(block);
      }
      auto coder = coders_.acquire();
      if (!coder) {
        decoded[g].emplace(std::move(coder).error());
        return;
      }
      decoded[g].emplace(decode_group(layout_, leaves_, **coder, group,
                                      std::span<const Bytes>(group_blocks_.data() + g * rows, rows),
                                      std::span<const Status>(group_status_.data() + g * rows, rows),
                                      [&](std::uint32_t row) { return row < k && layout_.index(group, row) >= start; },
                                      /*check_rebuilt=*/false, &rebuilt_buffers_));
      coders_.release(std::move(*coder));
    });
    // The rebuilt blocks of all these groups are checked against their
    // leaves together (sixteen at a time on every core), before any is used.
    rebuilds_.clear();
    for (auto& outcome : decoded) {
      if (!*outcome) return std::move(*outcome).error();
      rebuilds_.push_back(std::move(**outcome));
    }
    CODEX_TRY(check_rebuilt(rebuilds_, leaves_));
    for (auto& rebuild : rebuilds_) {
      for (auto& row : rebuild.bad) {
        if (row.block.empty()) continue;
        result_.rebuilt.push_back({row.index, row.why == Errc::corrupt ? "corrupt" : "missing"});
        if (options_.on_rebuilt) options_.on_rebuilt(result_.rebuilt.back());
        if (row.index < end) {
          std::swap(blocks[row.index - start], row.block);
          status[row.index - start] = Status();
          rebuilt_buffers_.give(std::move(row.block));  // the batch's old buffer
        } else {
          CODEX_TRY(spill_.put(row.index, std::move(row.block)));  // given back once written
        }
      }
    }
    return {};
  }

  BlockSource& source_;
  const SteppedLayout& layout_;
  std::span<const Digest> leaves_;
  const std::size_t block_size_;
  const std::size_t most_groups_;  // in a round (kRebuildRoundBytes of rows)
  CoderPool coders_;
  BlockBuffers rebuilt_buffers_;
  SpillFile spill_;
  std::vector<std::optional<std::uint64_t>> ahead_;  // by data block index
  const GetOptions& options_;
  GetResult& result_;
  // One round's rows (group g's row r at g * rows + r) and the buffers read into.
  std::vector<Bytes> group_blocks_, read_;
  std::vector<Status> group_status_, read_status_;
  std::vector<Digest> digests_;
  std::vector<std::size_t> where_;  // each digest's entry in group_blocks_
  std::vector<GroupRebuild> rebuilds_;
};

}  // namespace

Result<DatasetRecord> find_dataset(Repository& repository, const Cid& manifest_cid) {
  if (manifest_cid.codec() != codec::manifest)
    return make_error(Errc::usage, "'{}' is a {} CID, not a manifest (codex-manifest) CID", manifest_cid.to_string(),
                      codec_name(manifest_cid.codec()));
  CODEX_TRY_ASSIGN(auto record, repository.find_dataset(manifest_cid));
  if (!record)
    return make_error(Errc::not_found, "dataset '{}' is not in repository '{}' ('codex-repo ls' lists what it holds)",
                      manifest_cid.to_string(), repository.dir());
  return std::move(*record);
}

Result<GetResult> get_dataset(Repository& repository, BlockSource& source, const Cid& manifest_cid, ByteSink& output,
                              const GetOptions& options) {
  CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(repository, manifest_cid));
  CODEX_TRY_ASSIGN(std::vector<Digest> leaves, repository.tree_leaves(record.manifest.tree));
  return get_dataset(record, leaves, source, repository.dir(), output, options);
}

std::vector<Digest> get_read_order(const Manifest& manifest, std::span<const Digest> leaves, bool output_can_write_at) {
  std::vector<Digest> order;
  if (!manifest.is_protected()) return {leaves.begin(), leaves.end()};
  auto layout = SteppedLayout::of(manifest);
  if (!layout || layout->total != leaves.size()) return {leaves.begin(), leaves.end()};
  if (!output_can_write_at) return {leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(layout->blocks)};
  for (std::uint64_t group = 0; group < layout->steps; ++group)
    for (std::uint32_t row = 0; row < layout->k; ++row) {
      const std::uint64_t index = layout->index(group, row);
      if (!layout->is_padding(index)) order.push_back(leaves[index]);
    }
  return order;
}

Result<GetResult> get_dataset(const DatasetRecord& record, std::span<const Digest> leaves, BlockSource& source,
                              const std::string& spill_dir, ByteSink& output, const GetOptions& options) {
  const Cid& manifest_cid = record.manifest_cid;
  const Manifest& manifest = record.manifest;
  GetResult result;
  result.manifest = manifest;

  std::optional<SteppedLayout> layout;
  std::uint64_t data_blocks = leaves.size();
  std::uint64_t size = manifest.dataset_size;
  if (manifest.is_protected()) {
    size = manifest.erasure->original_dataset_size;
    CODEX_TRY_ASSIGN(layout, SteppedLayout::of(manifest));
    data_blocks = layout->blocks;
    if (layout->total != leaves.size())
      return make_error(Errc::corrupt, "tree of '{}' has {} leaves, its layout {}", manifest_cid.to_string(),
                        leaves.size(), layout->total);
    CODEX_TRY(check_groups_present(source, *layout, leaves, manifest_cid));
  } else {
    CODEX_TRY(check_plain_present(source, leaves, manifest_cid));
  }

  if (layout && output.can_write_at()) {
    CODEX_TRY(output.flush());
    CODEX_TRY(get_by_groups(source, *layout, leaves, manifest, size, output, options, result));
    std::sort(result.rebuilt.begin(), result.rebuilt.end(),
              [](const RebuiltBlock& a, const RebuiltBlock& b) { return a.index < b.index; });
    return result;
  }

  std::optional<InOrderRebuild> rebuild;
  if (layout) rebuild.emplace(source, *layout, leaves, manifest, spill_dir, options, result);
  std::uint64_t written = 0;
  CODEX_TRY(read_batches(source, static_cast<std::size_t>(data_blocks), kBlocksPerBatch,
                         [&](std::size_t i) -> const Digest& { return leaves[i]; },
                         [&](std::size_t start, std::span<Bytes> blocks, std::span<Status> status) -> Status {
    if (rebuild) CODEX_TRY(rebuild->rebuild(start, blocks, status));
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const std::uint64_t take = std::min<std::uint64_t>(manifest.block_size, size - written);
      if (rebuild && rebuild->spilled(start + i)) {
        CODEX_TRY(rebuild->write_spilled(start + i, output, take));
      } else {
        CODEX_TRY(status[i]);
        CODEX_TRY(output.write(ByteView(blocks[i].data(), static_cast<std::size_t>(take))));
      }
      written += take;
    }
    if (options.on_progress) options.on_progress(written);
    return {};
  }, [&](std::size_t i) { return rebuild ? rebuild->known(i) : std::nullopt; }));
  CODEX_TRY(output.flush());
  result.bytes = written;
  return result;
}

Status export_dataset(Repository& repository, BlockSource& source, const Cid& manifest_cid, CarWriter& output) {
  CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(repository, manifest_cid));
  const Manifest& manifest = record.manifest;
  CODEX_TRY_ASSIGN(std::vector<Digest> leaves, repository.tree_leaves(manifest.tree));
  std::optional<SteppedLayout> layout;
  if (manifest.is_protected()) {
    CODEX_TRY_ASSIGN(layout, SteppedLayout::of(manifest));
  }
  const Cid roots[] = {manifest_cid};
  CODEX_TRY(output.write_header(roots));
  const bool whole = !record.held_slots;
  if (!whole) {
    ByteView list(reinterpret_cast<const std::uint8_t*>(leaves.data()), leaves.size() * sizeof(Digest));
    CODEX_TRY(output.write_block(Cid::from_digest(codec::raw, sha256(list)), list));
  }
  std::vector<std::uint64_t> indices;
  for (std::uint64_t i = 0; i < leaves.size(); ++i)
    if (whole || record.holds_slot(layout->slot_of(i))) indices.push_back(i);

  CODEX_TRY(read_batches(source, indices.size(), kBlocksPerBatch,
                         [&](std::size_t i) -> const Digest& { return leaves[indices[i]]; },
                         [&](std::size_t start, std::span<Bytes> blocks, std::span<Status> status) -> Status {
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const std::uint64_t index = indices[start + i];
      if (!status[i].ok())
        return make_error(status[i].error().code, "block {} of '{}' cannot be exported: {} (codex-repair may fix it)",
                          index, manifest_cid.to_string(), status[i].error().message);
      CODEX_TRY(output.write_block(Cid::from_digest(codec::block, leaves[index]), blocks[i]));
    }
    return {};
  }));
  return output.write_block(manifest_cid, record.manifest_bytes);
}

}  // namespace codex
