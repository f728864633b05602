// The slot executor (slot_executor.hpp).
#include "codex/daemon/slot_executor.hpp"

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "codex/block_source.hpp"
#include "codex/codex_tree.hpp"
#include "codex/protocol/real_crypto.hpp"
#include "codex/daemon/daemon.hpp"
#include "codex/daemon/fetch.hpp"
#include "codex/daemon/tree_exchange.hpp"
#include "codex/health.hpp"
#include "codex/json.hpp"
#include "codex/layout.hpp"
#include "codex/manifest.hpp"
#include "codex/repository_admin.hpp"
#include "codex/storage_proof.hpp"

namespace codex::daemon {

namespace {

constexpr std::size_t kKeepFinished = 16;

std::string hex(const protocol::DatasetId& id) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto b : id) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

// DIR/repairs/<dataset hex>-<slot>: the scratch repository of one rebuild.
std::string scratch_name(const protocol::DatasetId& id, std::uint32_t slot) { return fmt::format("{}-{}", hex(id), slot); }

bool is_scratch_name(std::string_view name) {
  if (name.size() < 66 || name.size() > 64 + 1 + 10 || name[64] != '-') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (i == 64) continue;
    if (i < 64 ? !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) : !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Blocks from the first source that has them.
class ChainSource final : public BlockSource {
 public:
  ChainSource(BlockSource& a, BlockSource& b) : a_(a), b_(b) {}
  Result<bool> has(const Digest& d) override {
    auto x = a_.has(d);
    if (x && *x) return true;
    return b_.has(d);
  }
  Status read(const Digest& d, Bytes& out) override {
    auto s = a_.read(d, out);
    if (s) return s;
    return b_.read(d, out);
  }

 private:
  BlockSource& a_;
  BlockSource& b_;
};

// Checks every block of `slot` against the manifest's slot root (cell roots
// hashed from the stored bytes) and caches the cell roots for proofs.
Status check_slot_root(Repository& repository, const Cid& manifest_cid, const Manifest& manifest,
                       const std::vector<Digest>& leaves, std::uint32_t slot) {
  CODEX_TRY_ASSIGN(SlotGeometry g, slot_geometry(manifest));
  auto source = repository_source(repository);
  std::vector<Digest> roots;
  roots.reserve(g.blocks_in_slot);
  Bytes block;
  Bytes zeros;
  for (std::uint64_t b = 0; b < g.blocks_in_slot; ++b) {
    if (g.is_padding(slot, b)) {
      if (zeros.empty()) zeros.assign(g.block_size, 0);
      roots.push_back(block_cell_root(zeros, g.cell_size));
      continue;
    }
    CODEX_TRY(source->read(leaves[g.dataset_index(slot, b)], block));
    roots.push_back(block_cell_root(block, g.cell_size));
  }
  CODEX_TRY_ASSIGN(Cid root, slot_root_cid(roots));
  if (root != manifest.erasure->slot_roots[slot])
    return make_error(Errc::corrupt, "slot {} of {} does not give the manifest's slot root", slot,
                      manifest_cid.to_string());
  return repository.store_slot_block_roots(manifest_cid, slot, roots);
}

Status record_slot(Repository& repository, const Cid& cid, const Bytes& manifest_bytes, const Manifest& manifest,
                   std::uint32_t slot) {
  CODEX_TRY_ASSIGN(auto batch, repository.begin_batch());
  DatasetRecord record;
  record.manifest_cid = cid;
  record.manifest_bytes = manifest_bytes;
  record.manifest = manifest;
  record.held_slots = 1u << slot;
  record.added_at = static_cast<std::int64_t>(std::time(nullptr));
  batch->add_dataset(std::move(record));
  return batch->commit();
}

// The Fetcher's network over the link, storing into `target`.
struct LinkNetwork : FetchNetwork {
  CoreLink& link;
  Repository& target;
  std::uint64_t* bytes;
  LinkNetwork(CoreLink& link, Repository& target, std::uint64_t* bytes) : link(link), target(target), bytes(bytes) {}
  asio::awaitable<Result<std::unique_ptr<FetchStream>>> open(const PeerId& peer) override {
    auto s = co_await link.open_stream(peer, blockexc::kProtocolId);
    if (!s) co_return std::move(s).error();
    struct LinkStream : FetchStream {
      std::shared_ptr<net::Stream> s;
      asio::awaitable<Status> send(ByteView m) override { co_return co_await net::write_length_prefixed(*s, m); }
      asio::awaitable<Result<Bytes>> receive() override { co_return co_await net::read_length_prefixed(*s, 16u << 20); }
      void close() override { s->reset(); }
    };
    auto out = std::make_unique<LinkStream>();
    out->s = *s;
    co_return std::unique_ptr<FetchStream>(std::move(out));
  }
  Status store(const PeerId&, std::span<const blockexc::BlockDelivery> blocks) override {
    CODEX_TRY_ASSIGN(auto batch, target.begin_batch());
    for (const auto& b : blocks) {
      // replace: a copy already indexed here failed its check (held() below).
      CODEX_TRY(batch->add_block(*b.cid.sha256_digest(), b.data, /*replace=*/true));
      *bytes += b.data.size();
    }
    return batch->commit();
  }
  Status flush() override { return {}; }  // every store() commits
  // Held only if it reads back intact: a copy that rotted on disk is fetched
  // again (and replaces the bad one) instead of failing every later read.
  bool held(const Cid& cid) override {
    auto location = target.locate_block(*cid.sha256_digest());
    if (!location || !location->has_value()) return false;
    return target.read_block(*cid.sha256_digest(), scratch).ok();
  }
  Bytes scratch;
  void misbehaved(const PeerId& peer, const std::string& why) override { link.misbehaved(peer, why); }
};

}  // namespace

struct SlotExecutor::Job {
  protocol::DatasetDescriptor dataset;
  std::uint32_t slot = 0;
  bool rebuild = false;
  std::string phase = "starting";  // manifest, tree, fetching, decoding, storing, done, failed, cancelled
  std::uint64_t blocks_total = 0, blocks_done = 0, bytes_fetched = 0;
  std::int64_t started_ms = 0, finished_ms = 0;
  std::int64_t phase_ms[4] = {0, 0, 0, 0};  // time spent: metadata, fetching, decoding, storing
  bool cancelled = false;
  // Asked again while a cancelled run of this slot winds down: started once it has.
  std::optional<protocol::Action> next;
  bool ok = false;
  std::string error;
  Cid cid;
  // Held from start to finish: the blocks are stored batch by batch and the
  // slot recorded only at the end, so until then no dataset names them and a
  // gc sweep meanwhile would drop them (repository_admin.hpp, GcHold).
  std::optional<GcHold> gc_hold;
};

SlotExecutor::SlotExecutor(CoreLink& link, ExecutorOptions options, Report report)
    : link_(link), options_(options), report_(std::move(report)), started_ms_(now_ms()) {
  if (options_.scratch_keep_ms > 0 && link_.io) {
    // Often enough that an idle scratch repository outlives the keep time
    // by a quarter of it at most.
    const std::int64_t every = std::clamp<std::int64_t>(options_.scratch_keep_ms / 4, 1000, 3'600'000);
    asio::co_spawn(*link_.io, sweep_loop(every), asio::detached);
  }
}

asio::awaitable<void> SlotExecutor::sweep_loop(std::int64_t every_ms) {
  auto alive = alive_;
  asio::steady_timer timer(*link_.io);
  while (*alive) {
    timer.expires_after(std::chrono::milliseconds(every_ms));
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
    sweep_scratch(options_.scratch_keep_ms);
  }
}

std::size_t SlotExecutor::sweep_scratch(std::int64_t idle_ms) {
  // A rebuild keeps its scratch repository when it fails or is cancelled,
  // and a daemon killed mid-repair leaves its own: the slot may be asked of
  // this member again and the rebuild then resumes with what it fetched.
  // Past the keep time (the core's repair timeout) the claim has lapsed and
  // the watchers have asked someone else: nothing will resume from it.
  namespace fs = std::filesystem;
  const fs::path root = link_.dir / "repairs";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return 0;
  std::unordered_set<std::string> in_use;
  for (const auto& [key, job] : jobs_)
    if (job->rebuild) in_use.insert(scratch_name(key.first, key.second));
  const std::int64_t now = now_ms();
  std::vector<fs::path> idle;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // Only what a rebuild makes; anything else there is not ours to remove.
    if (!is_scratch_name(name) || in_use.count(name)) continue;
    auto used = scratch_used_.find(name);
    const std::int64_t since = used != scratch_used_.end() ? used->second : started_ms_;
    if (now - since >= idle_ms) idle.push_back(it->path());
  }
  std::size_t removed = 0;
  for (const auto& path : idle) {
    std::error_code rm;
    fs::remove_all(path, rm);
    const std::string name = path.filename().string();
    if (rm) {
      link_.log->warn("repair", "scratch {} cannot be removed: {}", path.string(), rm.message());
      continue;
    }
    scratch_used_.erase(name);
    ++removed;
    link_.log->info("repair", "scratch {} removed: no rebuild used it for {} ms", path.string(), idle_ms);
  }
  return removed;
}

SlotExecutor::~SlotExecutor() {
  *alive_ = false;
  for (auto& t : workers_)
    if (t.joinable()) t.join();
}

std::size_t SlotExecutor::running() const { return jobs_.size(); }

std::optional<bool> SlotExecutor::last_outcome(const protocol::DatasetId& dataset, std::uint32_t slot) const {
  if (busy(dataset, slot)) return std::nullopt;
  for (auto it = finished_.rbegin(); it != finished_.rend(); ++it)
    if ((*it)->dataset.id == dataset && (*it)->slot == slot) return (*it)->ok;
  return std::nullopt;
}

namespace {

// What a fetch or a rebuild needs first: the manifest and the dataset's tree.
struct Metadata {
  Bytes manifest_bytes;
  Manifest manifest;
  SteppedLayout layout;
  std::vector<Digest> leaves;
};

asio::awaitable<Result<Metadata>> get_metadata(CoreLink& link, const Cid& cid,
                                               const protocol::DatasetDescriptor& want, std::vector<PeerId> peers,
                                               const FetchLimits& limits) {
  Repository& repo = *link.repository;
  Metadata m;
  if (auto held = repo.find_dataset(cid); held && *held) {
    m.manifest_bytes = (*held)->manifest_bytes;
  } else if (!repo.read_block(*cid.sha256_digest(), m.manifest_bytes)) {  // absent, or rotted: fetched again
    std::uint64_t bytes = 0;
    LinkNetwork network(link, repo, &bytes);
    Fetcher fetcher(*link.io, network, *link.log, limits);
    std::vector<Cid> manifest_only;  // (no braced list inside co_await: GCC 12 miscompiles it)
    manifest_only.push_back(cid);
    auto got = co_await fetcher.fetch(manifest_only, peers);
    if (!got.got[0]) co_return make_error(Errc::not_found, "no member gave manifest {}", cid.to_string());
    auto read = repo.read_block(*cid.sha256_digest(), m.manifest_bytes);
    if (!read) co_return std::move(read).error();
  }
  auto manifest = decode_manifest(m.manifest_bytes);
  if (!manifest) co_return std::move(manifest).error();
  m.manifest = std::move(*manifest);
  if (!m.manifest.is_protected() || m.manifest.erasure->k != want.k || m.manifest.erasure->m != want.m)
    co_return make_error(Errc::corrupt, "manifest {} does not describe a K={} M={} dataset", cid.to_string(), want.k,
                         want.m);
  auto layout = SteppedLayout::of(m.manifest);
  if (!layout) co_return std::move(layout).error();
  m.layout = *layout;
  const std::uint64_t count = m.manifest.block_count();
  if (auto leaves = repo.tree_leaves(m.manifest.tree)) {
    m.leaves = std::move(*leaves);
    co_return m;
  }
  if (auto ok = check_tree_size(cid, count); !ok) co_return std::move(ok).error();
  for (const auto& peer : peers) {
    auto s = co_await link.open_stream(peer, kTreeProtocol);
    if (!s) continue;
    auto leaves = co_await request_tree(**s, m.manifest.tree, count);
    if (!leaves) {
      if (leaves.error().code == Errc::rejected) link.misbehaved(peer, leaves.error().message);
      if (leaves.error().code == Errc::corrupt) co_return std::move(leaves).error();
      continue;
    }
    auto batch = repo.begin_batch();
    if (!batch) co_return std::move(batch).error();
    (*batch)->add_tree(m.manifest.tree, *leaves);
    auto st = (*batch)->commit();
    if (!st) co_return std::move(st).error();
    m.leaves = std::move(*leaves);
    co_return m;
  }
  co_return make_error(Errc::not_found, "no member gave the tree of {}", cid.to_string());
}

// Fetches `wanted` into `target` in chunks, paced to the cap; false when cancelled.
asio::awaitable<bool> fetch_paced(CoreLink& link, Repository& target, const std::vector<Cid>& wanted,
                                  const std::vector<PeerId>& peers, const ExecutorOptions& options,
                                  SlotExecutor::Job& job, std::vector<bool>& got) {
  LinkNetwork network(link, target, &job.bytes_fetched);
  Fetcher fetcher(*link.io, network, *link.log, options.fetch);
  got.assign(wanted.size(), false);
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t bytes_before = job.bytes_fetched;
  for (std::size_t at = 0; at < wanted.size(); at += options.chunk_blocks) {
    if (job.cancelled) co_return false;
    std::size_t end = std::min(wanted.size(), at + options.chunk_blocks);
    std::vector<Cid> chunk(wanted.begin() + at, wanted.begin() + end);
    auto outcome = co_await fetcher.fetch(chunk, peers);
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      got[at + i] = outcome.got[i];
      job.blocks_done += outcome.got[i];
    }
    if (options.bandwidth_bytes_per_second > 0) {
      const double due = double(job.bytes_fetched - bytes_before) / double(options.bandwidth_bytes_per_second);
      const auto ahead = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(due)) -
                         std::chrono::steady_clock::now();
      if (ahead > std::chrono::steady_clock::duration::zero()) {
        asio::steady_timer t(*link.io, ahead);
        std::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
  }
  co_return !job.cancelled;
}

std::vector<PeerId> with_members(std::vector<PeerId> first, const std::vector<PeerId>& members) {
  for (const auto& p : members)
    if (std::find(first.begin(), first.end(), p) == first.end()) first.push_back(p);
  return first;
}

}  // namespace

template <class SlotAction>
std::shared_ptr<SlotExecutor::Job> SlotExecutor::start_job(const SlotAction& action, bool rebuilding) {
  auto key = std::make_pair(action.dataset.id, action.slot);
  if (auto it = jobs_.find(key); it != jobs_.end()) {
    if (it->second->cancelled) it->second->next = action;
    return nullptr;
  }
  auto job = std::make_shared<Job>();
  job->dataset = action.dataset;
  job->slot = action.slot;
  job->rebuild = rebuilding;
  job->cid = Cid::from_digest(codec::manifest, action.dataset.id);
  job->started_ms = now_ms();
  if (auto hold = GcHold::take(link_.repository->dir())) job->gc_hold.emplace(std::move(*hold));
  else link_.log->warn("slot", "dataset={} slot={}: cannot hold off gc: {}", job->cid.to_string(), job->slot,
                       hold.error().message);
  jobs_[key] = job;
  return job;
}

void SlotExecutor::fetch(const protocol::FetchSlot& action) {
  auto job = start_job(action, false);
  if (!job) return;
  std::vector<PeerId> sources;
  for (const auto& m : action.sources)
    if (auto p = protocol::peer_id_of(m)) sources.push_back(*p);
  link_.log->info("slot", "dataset={} slot={} fetching from {} source(s)", job->cid.to_string(), job->slot,
                  sources.size());
  asio::co_spawn(*link_.io, run_fetch(job, std::move(sources)), asio::detached);
}

void SlotExecutor::rebuild(const protocol::RebuildSlot& action) {
  auto job = start_job(action, true);
  if (!job) return;
  std::vector<std::optional<PeerId>> holders(action.holders.size());
  std::size_t known = 0;
  for (std::size_t i = 0; i < action.holders.size(); ++i)
    if (action.holders[i] && i != action.slot)
      if (auto p = protocol::peer_id_of(*action.holders[i])) {
        holders[i] = *p;
        ++known;
      }
  link_.log->info("repair", "dataset={} slot={} rebuilding from {} holder(s)", job->cid.to_string(), job->slot, known);
  asio::co_spawn(*link_.io, run_rebuild(job, std::move(holders)), asio::detached);
}

void SlotExecutor::cancel(const protocol::CancelSlot& action) {
  auto it = jobs_.find({action.dataset, action.slot});
  if (it == jobs_.end()) return;
  it->second->cancelled = true;
  it->second->next.reset();
  link_.log->info("repair", "dataset={} slot={} cancelled: another member rebuilds it", it->second->cid.to_string(),
                  action.slot);
}

void SlotExecutor::drop(const protocol::DropSlot& action) {
  // Not held any more: the slot leaves the record; its blocks stay until the
  // repository is compacted (packs are append-only).
  const Cid cid = Cid::from_digest(codec::manifest, action.dataset);
  auto it = jobs_.find({action.dataset, action.slot});
  if (it != jobs_.end()) {
    it->second->cancelled = true;
    it->second->next.reset();
  }
  auto st = link_.repository->drop_slot(cid, action.slot);
  if (!st)
    link_.log->warn("slot", "dataset={} slot={} cannot drop: {}", cid.to_string(), action.slot, st.error().message);
  else
    link_.log->info("slot", "dataset={} slot={} dropped: its new holder heartbeats it", cid.to_string(), action.slot);
}

void SlotExecutor::finish(const std::shared_ptr<Job>& job, bool ok, std::string why) {
  job->finished_ms = now_ms();
  job->ok = ok;
  job->error = std::move(why);
  job->phase = ok ? "done" : (job->cancelled ? "cancelled" : "failed");
  job->gc_hold.reset();
  if (job->rebuild) {
    // Its scratch repository (gone if the slot was stored) was in use until now.
    auto used = scratch_used_.find(scratch_name(job->dataset.id, job->slot));
    if (used != scratch_used_.end()) used->second = job->finished_ms;
  }
  jobs_.erase({job->dataset.id, job->slot});
  finished_.push_back(job);
  if (finished_.size() > kKeepFinished) finished_.erase(finished_.begin());
  const char* what = job->rebuild ? "rebuilt" : "stored";
  if (ok) {
    link_.log->info(job->rebuild ? "repair" : "slot",
                    "dataset={} slot={} {}: {} blocks, {} bytes fetched in {} ms (metadata {} ms, fetch {} ms, decode {} ms, "
                    "store {} ms)",
                    job->cid.to_string(), job->slot, what, job->blocks_total, job->bytes_fetched,
                    job->finished_ms - job->started_ms, job->phase_ms[0], job->phase_ms[1], job->phase_ms[2],
                    job->phase_ms[3]);
    report_(protocol::SlotStored{job->dataset.id, job->slot});
  } else if (!job->cancelled) {
    link_.log->warn(job->rebuild ? "repair" : "slot", "dataset={} slot={} failed: {}", job->cid.to_string(), job->slot,
                    job->error);
    report_(protocol::SlotFailed{job->dataset.id, job->slot});
  }
  if (job->next) {
    // The core asked for this slot again while the cancelled run wound down.
    auto next = std::move(*job->next);
    job->next.reset();
    if (auto* f = std::get_if<protocol::FetchSlot>(&next)) fetch(*f);
    else if (auto* r = std::get_if<protocol::RebuildSlot>(&next)) rebuild(*r);
  }
}

asio::awaitable<void> SlotExecutor::run_fetch(std::shared_ptr<Job> job, std::vector<PeerId> sources) {
  auto alive = alive_;
  std::int64_t t = now_ms();
  auto peers = with_members(sources, link_.usable_peers());
  job->phase = "manifest";
  auto meta = co_await get_metadata(link_, job->cid, job->dataset, peers, options_.fetch);
  if (!*alive) co_return;
  if (!meta) co_return finish(job, false, meta.error().message);
  const auto& L = meta->layout;
  if (job->slot >= L.slots()) co_return finish(job, false, "slot past the dataset's last");
  std::vector<Cid> wanted;
  for (std::uint64_t i = L.slot_begin(job->slot); i < L.slot_end(job->slot); ++i) {
    if (L.is_padding(i) || meta->leaves[i] == empty_digest()) continue;
    wanted.push_back(Cid::from_digest(codec::block, meta->leaves[i]));
  }
  job->blocks_total = wanted.size();
  job->phase_ms[0] = now_ms() - t;
  t = now_ms();
  job->phase = "fetching";
  std::vector<bool> got;
  bool done = co_await fetch_paced(link_, *link_.repository, wanted, peers, options_, *job, got);
  if (!*alive) co_return;
  job->phase_ms[1] = now_ms() - t;
  if (!done) co_return finish(job, false, "cancelled");
  std::size_t missing = std::count(got.begin(), got.end(), false);
  if (missing) co_return finish(job, false, fmt::format("{} of {} blocks on no reachable member", missing, wanted.size()));
  t = now_ms();
  job->phase = "storing";
  auto st = check_slot_root(*link_.repository, job->cid, meta->manifest, meta->leaves, job->slot);
  if (st) st = record_slot(*link_.repository, job->cid, meta->manifest_bytes, meta->manifest, job->slot);
  job->phase_ms[3] = now_ms() - t;
  if (!st) co_return finish(job, false, st.error().message);
  finish(job, true, {});
}

asio::awaitable<void> SlotExecutor::run_rebuild(std::shared_ptr<Job> job, std::vector<std::optional<PeerId>> holders) {
  auto alive = alive_;
  std::int64_t t = now_ms();
  std::vector<PeerId> holder_peers;
  for (const auto& h : holders)
    if (h && std::find(holder_peers.begin(), holder_peers.end(), *h) == holder_peers.end()) holder_peers.push_back(*h);
  auto peers = with_members(holder_peers, link_.usable_peers());
  job->phase = "manifest";
  auto meta = co_await get_metadata(link_, job->cid, job->dataset, peers, options_.fetch);
  if (!*alive) co_return;
  if (!meta) co_return finish(job, false, meta.error().message);
  const auto L = meta->layout;
  if (job->slot >= L.slots()) co_return finish(job, false, "slot past the dataset's last");

  // Scratch repository for the other slots' blocks: kept until the slot is
  // stored, so a repair interrupted by a crash resumes with what it had.
  const auto scratch_dir = link_.dir / "repairs" / scratch_name(job->dataset.id, job->slot);
  scratch_used_[scratch_name(job->dataset.id, job->slot)] = now_ms();
  std::error_code ec;
  std::filesystem::create_directories(scratch_dir, ec);
  auto scratch = Repository::open(scratch_dir.string(), Repository::OpenMode::create);
  if (!scratch) co_return finish(job, false, scratch.error().message);
  job->phase_ms[0] = now_ms() - t;

  // Rows to read: the other rows whose holders are known first, then the
  // rest; groups still short of K after a round take the next rows.
  std::vector<std::uint32_t> rows;
  for (std::uint32_t r = 0; r < L.slots(); ++r)
    if (r != job->slot && holders.size() > r && holders[r]) rows.push_back(r);
  for (std::uint32_t r = 0; r < L.slots(); ++r)
    if (r != job->slot && !(holders.size() > r && holders[r])) rows.push_back(r);
  // A block of the member's own repository counts only if it still reads
  // back intact: a disk that rotted under a dropped slot would otherwise fail
  // every decode instead of the block being fetched again. The scratch
  // repository holds only blocks checked on arrival.
  Bytes local;
  auto present = [&](const Digest& d) {
    auto l = (*scratch)->locate_block(d);
    if (l && l->has_value()) return true;
    return link_.repository->read_block(d, local).ok();
  };
  t = now_ms();
  job->phase = "fetching";
  job->blocks_total = 0;
  std::size_t next_row = 0;
  std::vector<std::uint32_t> intact(L.steps, 0);
  // Padding rows count as intact (they are zeros).
  for (std::uint64_t g = 0; g < L.steps; ++g)
    for (std::uint32_t r = 0; r < L.slots(); ++r) {
      const auto i = L.index(g, r);
      if (r != job->slot && (L.is_padding(i) || meta->leaves[i] == empty_digest())) intact[g]++;
    }
  while (true) {
    std::vector<std::uint64_t> short_groups;
    for (std::uint64_t g = 0; g < L.steps; ++g)
      if (intact[g] < L.k) short_groups.push_back(g);
    if (short_groups.empty()) break;
    if (next_row >= rows.size())
      co_return finish(job, false, fmt::format("{} EC groups short of K blocks on the reachable holders",
                                               short_groups.size()));
    // Take as many more rows as the neediest group lacks.
    std::uint32_t need = 0;
    for (auto g : short_groups) need = std::max(need, L.k - intact[g]);
    std::vector<std::uint32_t> take(rows.begin() + next_row, rows.begin() + std::min(rows.size(), next_row + need));
    next_row += take.size();
    std::vector<Cid> wanted;
    std::vector<std::uint64_t> wanted_group;
    for (auto g : short_groups)
      for (auto r : take) {
        const auto i = L.index(g, r);
        if (L.is_padding(i) || meta->leaves[i] == empty_digest()) continue;
        if (present(meta->leaves[i])) {
          intact[g]++;
          continue;
        }
        wanted.push_back(Cid::from_digest(codec::block, meta->leaves[i]));
        wanted_group.push_back(g);
      }
    job->blocks_total += wanted.size();
    std::vector<bool> got;
    std::vector<PeerId> from = peers;
    for (auto r : take)
      if (holders.size() > r && holders[r])
        from.insert(from.begin(), *holders[r]);
    auto from_all = with_members(std::vector<PeerId>(), from);
    bool done = co_await fetch_paced(link_, **scratch, wanted, from_all, options_, *job, got);
    if (!*alive) co_return;
    if (!done) {
      job->phase_ms[1] = now_ms() - t;
      co_return finish(job, false, "cancelled");
    }
    for (std::size_t i = 0; i < wanted.size(); ++i)
      if (got[i]) intact[wanted_group[i]]++;
  }
  job->phase_ms[1] = now_ms() - t;

  // Decode on a worker thread (the event loop keeps heartbeating meanwhile),
  // with repositories of its own.
  t = now_ms();
  job->phase = "decoding";
  struct Outcome {
    Status status;
    std::int64_t decode_ms = 0, store_ms = 0;
    std::uint64_t rebuilt = 0;
  };
  auto outcome = std::make_shared<Outcome>();
  asio::steady_timer done_timer(*link_.io, asio::steady_timer::time_point::max());
  const std::string main_dir = link_.repository->dir();
  DatasetRecord record;
  record.manifest_cid = job->cid;
  record.manifest_bytes = meta->manifest_bytes;
  record.manifest = meta->manifest;
  record.held_slots = 1u << job->slot;
  auto io = link_.io;
  auto* timer = &done_timer;
  auto leaves = meta->leaves;
  const std::uint32_t slot = job->slot;
  const auto scratch_path = scratch_dir.string();
  scratch->reset();
  workers_.emplace_back([=, record = std::move(record), leaves = std::move(leaves)]() mutable {
    auto run = [&]() -> Status {
      CODEX_TRY_ASSIGN(auto main_repo, Repository::open(main_dir, Repository::OpenMode::existing));
      CODEX_TRY_ASSIGN(auto scratch_repo, Repository::open(scratch_path, Repository::OpenMode::existing));
      auto a = repository_source(*main_repo);
      auto b = repository_source(*scratch_repo);
      ChainSource chain(*a, *b);
      const auto t0 = now_ms();
      CODEX_TRY_ASSIGN(RepairReport report, repair_dataset(*main_repo, chain, record, RepairOptions{}));
      outcome->decode_ms = now_ms() - t0;
      if (report.after != DatasetState::intact)
        return make_error(Errc::unrecoverable, "slot {} not rebuilt: {}", slot, report.failure);
      outcome->rebuilt = report.rebuilt.size();
      const auto t1 = now_ms();
      CODEX_TRY(check_slot_root(*main_repo, record.manifest_cid, record.manifest, leaves, slot));
      CODEX_TRY(record_slot(*main_repo, record.manifest_cid, record.manifest_bytes, record.manifest, slot));
      outcome->store_ms = now_ms() - t1;
      return {};
    };
    outcome->status = run();
    asio::post(*io, [timer, alive]() {
      if (*alive) timer->cancel();
    });
  });
  std::error_code wait_ec;
  co_await done_timer.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
  if (!*alive) co_return;
  job->phase_ms[2] = outcome->decode_ms;
  job->phase_ms[3] = outcome->store_ms;
  if (!outcome->status) co_return finish(job, false, outcome->status.error().message);
  if (job->cancelled) co_return finish(job, false, "cancelled");
  std::filesystem::remove_all(scratch_dir, ec);
  scratch_used_.erase(scratch_name(job->dataset.id, job->slot));
  finish(job, true, {});
}

std::string SlotExecutor::jobs_json() const {
  std::string out = "[";
  auto add = [&](const Job& j) {
    const std::int64_t end = j.finished_ms ? j.finished_ms : now_ms();
    out += (out.size() > 1 ? "," : "") + JsonObject()
                                             .add("dataset", j.cid.to_string())
                                             .add("slot", j.slot)
                                             .add("kind", j.rebuild ? "rebuild" : "fetch")
                                             .add("phase", j.phase)
                                             .add("blocks_total", j.blocks_total)
                                             .add("blocks_done", j.blocks_done)
                                             .add("bytes_fetched", j.bytes_fetched)
                                             .add("elapsed_ms", end - j.started_ms)
                                             .add("metadata_ms", j.phase_ms[0])
                                             .add("fetch_ms", j.phase_ms[1])
                                             .add("decode_ms", j.phase_ms[2])
                                             .add("store_ms", j.phase_ms[3])
                                             .add("error", j.error)
                                             .str();
  };
  for (const auto& [key, job] : jobs_) add(*job);
  for (const auto& job : finished_) add(*job);
  return out + "]";
}

}  // namespace codex::daemon
