// Managing a repository over its life: removing datasets, reclaiming the
// space nothing references any more (gc), and counting what it holds (stats).
// Used by `codex-repo`; the layout and the crash-safety argument are in
// docs/repository.md ("Removing datasets and reclaiming space").
//
// Dead space has three sources: the blocks of removed datasets that no other
// dataset uses, the second copies written when two puts of the same dataset
// ran at once (only one copy is indexed), and the old copies left in place
// when codex-repair stores a fresh block. gc works in two steps:
//   1. sweep: with DIR/gc.lock held exclusively (no put or repair batch is
//      open), one transaction drops index rows of blocks no dataset's tree
//      names, trees no dataset uses and cached slot roots of removed datasets;
//   2. compact: every pack with dead bytes that no writer holds is copied,
//      live blocks only, into a new pack; the new pack is fsynced, then one
//      transaction points the blocks at it and retires the old pack, and only
//      then is the old file deleted. kill -9 at any moment leaves every
//      indexed block readable: before the commit the old copy is indexed,
//      after it the new one is, and a retired pack left on disk is deleted by
//      the next gc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "codex/cid.hpp"
#include "codex/env.hpp"
#include "codex/error.hpp"

namespace codex {

struct RepositoryStats {
  std::uint64_t datasets = 0;
  std::uint64_t protected_datasets = 0;
  std::uint64_t blocks = 0;          // indexed blocks
  std::uint64_t live_blocks = 0;     // indexed blocks some dataset's tree names
  std::uint64_t packs = 0;           // pack files in use
  std::uint64_t stored_bytes = 0;    // committed bytes of the packs in use
  std::uint64_t live_bytes = 0;      // bytes of the live blocks
  std::uint64_t dead_bytes = 0;      // stored_bytes - live_bytes: what gc would reclaim
};

struct GcReport {
  std::uint64_t unreferenced_blocks = 0;  // index rows dropped by the sweep
  std::uint64_t unreferenced_bytes = 0;
  std::uint64_t packs_compacted = 0;
  std::uint64_t packs_busy = 0;           // held by a writer: left for the next gc
  std::uint64_t blocks_moved = 0;
  std::uint64_t bytes_moved = 0;
  std::uint64_t bytes_reclaimed = 0;      // disk space given back (pack bytes deleted)
};

struct GcOptions {
  // Called while gc waits for running puts or repairs to end.
  std::function<void()> on_wait;
  // Bytes reclaimed so far, for a progress line.
  std::function<void(std::uint64_t)> on_progress;
};

// Keeps gc's sweep away while it lives, as an open batch does (a shared
// lock on DIR/gc.lock): for a writer whose blocks become referenced only at a
// later commit, such as a member's daemon fetching a slot or a dataset (blocks
// stored as they arrive, in many batches; the dataset recorded at the end).
// Without it a gc between two of its batches would drop the blocks stored so
// far, which no dataset names yet. gc waits for every hold, as for a batch.
class GcHold {
 public:
  static Result<GcHold> take(const std::string& dir, Env& env = system_env());
  GcHold(GcHold&&) noexcept = default;
  GcHold& operator=(GcHold&&) noexcept = default;
  ~GcHold();

 private:
  explicit GcHold(std::unique_ptr<File> lock) : lock_(std::move(lock)) {}
  std::unique_ptr<File> lock_;
};

class RepositoryAdmin {
 public:
  // Opens an existing repository (Errc::not_found when there is none) for
  // writing; `read_only` for stats. Files, locks and packs go through `env`
  // (tests inject faults through it); it must outlive the admin.
  static Result<std::unique_ptr<RepositoryAdmin>> open(const std::string& dir, bool read_only = false,
                                                       Env& env = system_env());
  ~RepositoryAdmin();

  // Drops a dataset from the index (its blocks stay until gc); Errc::not_found
  // when the repository does not hold it.
  Status remove_dataset(const Cid& manifest_cid);
  Result<RepositoryStats> stats();
  Result<GcReport> gc(const GcOptions& options = {});

  struct Impl;

 private:
  explicit RepositoryAdmin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace codex
