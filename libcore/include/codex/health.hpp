// What a repository holds of its datasets, and in what state: the verbs
// behind codex-verify (check) and codex-repair (rebuild from what is held).
//
// A block is *held* when the repository is meant to have it: every block of a
// plain dataset, the blocks of the held slots of a protected one. A held block
// is intact, missing (not indexed) or corrupt (bytes do not match the CID).
// Damage is *recoverable* when every EC group with a bad held block still has
// K intact blocks here; a plain dataset has no redundancy, so any damage to
// it is unrecoverable.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codex/block_source.hpp"
#include "codex/cid.hpp"
#include "codex/error.hpp"
#include "codex/repository.hpp"

namespace codex {

enum class BlockState : std::uint8_t { intact, missing, corrupt, unchecked, not_held };

enum class DatasetState { intact, damaged, unrecoverable };
const char* dataset_state_name(DatasetState state);

struct SlotHealth {
  std::uint32_t slot = 0;
  bool held = false;
  std::uint64_t blocks = 0, checked = 0, intact = 0, missing = 0, corrupt = 0;
  DatasetState state = DatasetState::intact;  // of this slot's held blocks
};

struct DatasetHealth {
  Cid cid;
  Manifest manifest;
  std::uint64_t blocks = 0;   // held blocks (padding excluded)
  std::uint64_t checked = 0;  // held blocks whose bytes were hashed
  std::uint64_t intact = 0, missing = 0, corrupt = 0;
  std::vector<SlotHealth> slots;                    // protected datasets only
  std::vector<std::uint64_t> bad;                   // indices of missing or corrupt held blocks
  std::vector<std::uint64_t> unrecoverable_groups;  // groups short of K intact blocks
  DatasetState state = DatasetState::intact;
};

struct CheckOptions {
  // Hash only a random sample of the held blocks (presence is always checked
  // for all): a count, or a fraction in (0, 1].
  std::optional<std::uint64_t> sample_count;
  std::optional<double> sample_fraction;
  std::uint64_t seed = 0;  // 0: random
};

// Checks the held blocks of a dataset as `source` gives them (normally the
// repository's own; the manifest and tree come from the repository).
Result<DatasetHealth> check_dataset(Repository& repository, BlockSource& source, const DatasetRecord& record,
                                    const CheckOptions& options);

struct RepairOptions {
  bool dry_run = false;
};

struct RepairReport {
  Cid cid;
  DatasetHealth before;
  std::vector<std::uint64_t> rebuilt;  // indices rebuilt and stored (planned, with dry_run)
  DatasetState after = DatasetState::intact;
  std::string failure;  // why some damage could not be repaired
};

// Rebuilds the missing or corrupt held blocks of one dataset from the blocks
// `source` can give (the repository itself, later also peers), checks each
// against the dataset tree, and stores them in one batch. The damage itself
// is found by checking the repository's own copy.
Result<RepairReport> repair_dataset(Repository& repository, BlockSource& source, const DatasetRecord& record,
                                    const RepairOptions& options);

// Reports for people and programs (codex-verify, codex-repair).
std::string health_json(const DatasetHealth& health);        // one JSON object, one line
std::string health_table(std::span<const DatasetHealth> all);  // a header line, then a line per dataset and slot
// A --sample spec: a block count ("100") or a percentage ("5%").
Result<CheckOptions> parse_sample(std::string_view text);
// The outcome of checks or repairs, with the line saying why: ok, or
// Errc::damaged (6), Errc::unrecoverable (7), Errc::repaired (8).
Status check_outcome(std::span<const DatasetHealth> all);
Status repair_outcome(std::span<const RepairReport> reports, bool dry_run);

}  // namespace codex
