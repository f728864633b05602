// The hands of the protocol core on a member: it does the FetchSlot,
// RebuildSlot, DropSlot and CancelSlot actions the core decides, with the
// block exchange and libcore's decoding, and reports SlotStored / SlotFailed
// back.
//
//  - FetchSlot: the manifest, the dataset tree (checked against the
//    manifest's tree root) and the slot's blocks from the sources (then any
//    member), each block checked against its CID as it arrives and stored as
//    it arrives (an interrupted fetch resumes), then the whole slot checked
//    against the manifest's slot root before the slot is recorded as held
//    (until then it is not held: all or nothing).
//  - RebuildSlot: K blocks of every EC group from the other holders into a
//    scratch repository (DIR/repairs/<dataset>-<slot>, kept across restarts
//    so a repair resumes), decoded by libcore's repair_dataset on a worker
//    thread, every rebuilt block checked against the dataset tree, the slot
//    checked against its slot root, stored, recorded, reported. A scratch
//    repository no rebuild has used for `scratch_keep_ms` (the core's
//    repair timeout: past it the claim has lapsed and another member is
//    asked) is removed, leftovers of a daemon killed mid-repair included.
//  - DropSlot: the slot is no longer recorded as held (the core sends it only
//    once the slot's new holder heartbeats it).
// Fetches run in chunks, paced to an optional bandwidth cap; every job is
// visible (jobs_json) while it runs.
#pragma once

#include "codex/daemon/fetch.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "codex/daemon/core_adapter.hpp"
#include "codex/protocol/events.hpp"

namespace codex::daemon {

struct ExecutorOptions {
  std::uint64_t bandwidth_bytes_per_second = 0;  // 0: no cap
  std::size_t chunk_blocks = 64;                 // blocks asked per round (progress, pacing, cancellation)
  FetchLimits fetch;                             // the daemon's fetch-parallel and request-timeout
  std::int64_t scratch_keep_ms = 0;              // idle scratch repositories removed after this (0: kept)
};

class SlotExecutor {
 public:
  using Report = std::function<void(const protocol::LocalEvent&)>;
  SlotExecutor(CoreLink& link, ExecutorOptions options, Report report);
  ~SlotExecutor();

  void fetch(const protocol::FetchSlot& action);
  void rebuild(const protocol::RebuildSlot& action);
  void drop(const protocol::DropSlot& action);
  void cancel(const protocol::CancelSlot& action);

  // Jobs running now (and the last few finished), as a JSON array.
  std::string jobs_json() const;
  std::size_t running() const;
  bool busy(const protocol::DatasetId& dataset, std::uint32_t slot) const { return jobs_.count({dataset, slot}) > 0; }
  // How the last job of this slot ended: nullopt while running or never run.
  std::optional<bool> last_outcome(const protocol::DatasetId& dataset, std::uint32_t slot) const;
  // Removes the scratch repositories (DIR/repairs/<dataset>-<slot>) that no
  // running rebuild uses and none has used for `idle_ms` (those found at
  // start count from then); how many. Runs every scratch_keep_ms by itself.
  std::size_t sweep_scratch(std::int64_t idle_ms);

  struct Job;

 private:
  asio::awaitable<void> run_fetch(std::shared_ptr<Job> job, std::vector<PeerId> sources);
  asio::awaitable<void> run_rebuild(std::shared_ptr<Job> job, std::vector<std::optional<PeerId>> holders);
  void finish(const std::shared_ptr<Job>& job, bool ok, std::string why);
  asio::awaitable<void> sweep_loop(std::int64_t every_ms);
  // A new job for the action's slot, or null when one runs already (a
  // cancelled one then takes the action up once it ends).
  template <class SlotAction>
  std::shared_ptr<Job> start_job(const SlotAction& action, bool rebuilding);

  CoreLink& link_;
  ExecutorOptions options_;
  Report report_;
  std::map<std::pair<protocol::DatasetId, std::uint32_t>, std::shared_ptr<Job>> jobs_;
  std::vector<std::shared_ptr<Job>> finished_;  // most recent last, a few kept
  std::vector<std::thread> workers_;
  std::map<std::string, std::int64_t> scratch_used_;  // scratch name -> when a rebuild last used it
  std::int64_t started_ms_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace codex::daemon
