// Checking and repairing held datasets; see health.hpp.
#include "codex/health.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "codex/erasure.hpp"
#include "codex/layout.hpp"
#include "codex/random.hpp"
#include "group_decoder.hpp"

namespace codex {
namespace {

std::optional<SteppedLayout> layout_of(const Manifest& manifest) {
  if (!manifest.is_protected()) return std::nullopt;
  auto layout = SteppedLayout::of(manifest);
  if (!layout) return std::nullopt;
  return *layout;
}

}  // namespace

const char* dataset_state_name(DatasetState state) {
  switch (state) {
    case DatasetState::intact: return "intact";
    case DatasetState::damaged: return "damaged";
    case DatasetState::unrecoverable: return "unrecoverable";
  }
  return "unknown";
}

Result<DatasetHealth> check_dataset(Repository& repository, BlockSource& source, const DatasetRecord& record,
                                    const CheckOptions& options) {
  DatasetHealth health;
  health.cid = record.manifest_cid;
  health.manifest = record.manifest;
  CODEX_TRY_ASSIGN(std::vector<Digest> leaves, repository.tree_leaves(record.manifest.tree));
  const std::optional<SteppedLayout> layout = layout_of(record.manifest);
  if (record.manifest.is_protected() && (!layout || layout->total != leaves.size()))
    return make_error(Errc::corrupt, "dataset '{}': its tree does not fit its erasure layout", record.manifest_cid.to_string());

  // Which indices are held, and which of them to hash.
  std::vector<BlockState> state(leaves.size(), BlockState::not_held);
  std::vector<std::uint64_t> held;
  for (std::uint64_t i = 0; i < leaves.size(); ++i) {
    if (layout && layout->is_padding(i)) continue;
    if (layout && !record.holds_slot(layout->slot_of(i))) continue;
    held.push_back(i);
    state[i] = BlockState::unchecked;
  }
  std::vector<std::uint64_t> to_hash = held;
  std::uint64_t want = held.size();
  if (options.sample_count) want = std::min<std::uint64_t>(*options.sample_count, held.size());
  if (options.sample_fraction)
    want = std::min<std::uint64_t>(held.size(), static_cast<std::uint64_t>(std::ceil(*options.sample_fraction * held.size())));
  if (want < held.size()) {
    std::uint64_t seed = options.seed;
    if (seed == 0) {
      CODEX_TRY_ASSIGN(seed, system_random().next_u64());
    }
    std::mt19937_64 rng(seed);
    std::shuffle(to_hash.begin(), to_hash.end(), rng);
    to_hash.resize(want);
    std::sort(to_hash.begin(), to_hash.end());
  }

  // Presence of every held block (cheap), then the bytes of the sample.
  for (std::uint64_t i : held) {
    CODEX_TRY_ASSIGN(bool present, source.has(leaves[i]));
    if (!present) state[i] = BlockState::missing;
  }
  std::vector<std::uint64_t> indices;  // the sample, less what is missing
  for (std::uint64_t i : to_hash)
    if (state[i] != BlockState::missing) indices.push_back(i);
  CODEX_TRY(read_batches(source, indices.size(), kBlocksPerBatch,
                         [&](std::size_t j) -> const Digest& { return leaves[indices[j]]; },
                         [&](std::size_t first, std::span<Bytes>, std::span<Status> status) -> Status {
    for (std::size_t j = 0; j < status.size(); ++j) {
      const std::uint64_t index = indices[first + j];
      ++health.checked;
      if (status[j].ok()) state[index] = BlockState::intact;
      else if (status[j].error().code == Errc::not_found) state[index] = BlockState::missing;
      else if (status[j].error().code == Errc::corrupt) state[index] = BlockState::corrupt;
      else return std::move(status[j]).error();
    }
    return {};
  }));

  if (layout) {
    health.slots.resize(layout->slots());
    for (std::uint32_t s = 0; s < layout->slots(); ++s) {
      health.slots[s].slot = s;
      health.slots[s].held = record.holds_slot(s);
    }
  }
  for (std::uint64_t i : held) {
    SlotHealth* slot = layout ? &health.slots[layout->slot_of(i)] : nullptr;
    ++health.blocks;
    if (slot) ++slot->blocks;
    switch (state[i]) {
      case BlockState::intact:
        ++health.intact;
        if (slot) ++slot->intact, ++slot->checked;
        break;
      case BlockState::missing:
        ++health.missing;
        if (slot) ++slot->missing;
        health.bad.push_back(i);
        break;
      case BlockState::corrupt:
        ++health.corrupt;
        if (slot) ++slot->corrupt, ++slot->checked;
        health.bad.push_back(i);
        break;
      default: break;  // unchecked: present, not hashed
    }
  }

  if (health.bad.empty()) return health;
  if (!layout) {
    health.state = DatasetState::unrecoverable;
    return health;
  }
  using SlotState = DatasetState;
  // Intact (or at least present and unsampled) blocks per group, over all rows held here.
  std::map<std::uint64_t, std::uint32_t> good_in_group;
  for (std::uint64_t bad : health.bad) good_in_group[layout->group_of(bad)] = 0;
  for (auto& [group, good] : good_in_group) {
    for (std::uint32_t row = 0; row < layout->slots(); ++row) {
      const std::uint64_t index = layout->index(group, row);
      if (layout->is_padding(index)) {
        ++good;
        continue;
      }
      BlockState s = state[index];
      if (s == BlockState::intact || s == BlockState::unchecked) ++good;
      else if (s == BlockState::not_held) {
        // Not meant to be here, but may be (another dataset shares it).
        CODEX_TRY_ASSIGN(bool present, source.has(leaves[index]));
        if (present) ++good;
      }
    }
    if (good < layout->k) health.unrecoverable_groups.push_back(group);
  }
  for (std::uint64_t bad : health.bad) {
    SlotState& slot_state = health.slots[layout->slot_of(bad)].state;
    const bool lost = std::binary_search(health.unrecoverable_groups.begin(), health.unrecoverable_groups.end(),
                                         layout->group_of(bad));
    if (lost) slot_state = DatasetState::unrecoverable;
    else if (slot_state == DatasetState::intact) slot_state = DatasetState::damaged;
  }
  health.state = health.unrecoverable_groups.empty() ? DatasetState::damaged : DatasetState::unrecoverable;
  return health;
}

Result<RepairReport> repair_dataset(Repository& repository, BlockSource& source, const DatasetRecord& record,
                                    const RepairOptions& options) {
  RepairReport report;
  report.cid = record.manifest_cid;
  // What is damaged is a question about this repository's own copy.
  auto local = repository_source(repository);
  CODEX_TRY_ASSIGN(report.before, check_dataset(repository, *local, record, CheckOptions{}));
  report.after = report.before.state;
  if (report.before.bad.empty()) return report;
  const std::optional<SteppedLayout> layout = layout_of(record.manifest);
  if (!layout) {
    report.failure = fmt::format("{} blocks are damaged and a plain dataset has no parity to rebuild them from",
                                 report.before.bad.size());
    return report;
  }
  CODEX_TRY_ASSIGN(std::vector<Digest> leaves, repository.tree_leaves(record.manifest.tree));
  CODEX_TRY_ASSIGN(ErasureCoder coder, ErasureCoder::open(record.manifest.erasure->backend, layout->k, layout->m,
                                                          record.manifest.block_size));
  std::map<std::uint64_t, std::vector<std::uint64_t>> groups;
  for (std::uint64_t index : report.before.bad) groups[layout->group_of(index)].push_back(index);

  // A dry run changes nothing: it takes no batch (no pack, no lock, no write).
  std::unique_ptr<Repository::Batch> batch;
  if (!options.dry_run) {
    CODEX_TRY_ASSIGN(batch, repository.begin_batch());
  }
  std::vector<std::string> failures;
  for (const auto& [group, indices] : groups) {
    auto rebuilt = rebuild_group(source, *layout, leaves, coder, group, [&](std::uint32_t row) {
      return record.holds_slot(row);
    });
    if (!rebuilt) {
      failures.push_back(rebuilt.error().message);
      continue;
    }
    for (auto& row : rebuilt->bad) {
      if (row.block.empty() || !record.holds_slot(row.row)) continue;
      report.rebuilt.push_back(row.index);
      if (!options.dry_run) CODEX_TRY(batch->add_block(leaves[row.index], row.block, /*replace=*/true));
    }
  }
  if (!options.dry_run && !report.rebuilt.empty()) CODEX_TRY(batch->commit());
  std::sort(report.rebuilt.begin(), report.rebuilt.end());
  if (!failures.empty()) {
    report.after = DatasetState::unrecoverable;
    report.failure = failures.front() + (failures.size() > 1 ? fmt::format(" (and {} more groups)", failures.size() - 1) : "");
  } else {
    report.after = options.dry_run ? DatasetState::damaged : DatasetState::intact;
  }
  return report;
}

}  // namespace codex
