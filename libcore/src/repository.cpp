// The repository: SQLite index + append-only packs; see repository.hpp and
// docs/repository.md for the schema and the crash-safety argument.
#include "codex/repository.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <unordered_set>

#include "codex/env.hpp"
#include "codex/io.hpp"
#include "pack_files.hpp"
#include "sqlite.hpp"

namespace codex {
namespace {

constexpr std::uint64_t kPackLimit = packs::kLimit;
constexpr std::size_t kWriteBuffer = kMaxSyscallBytes;
constexpr int kSchemaVersion = 2;

const char* kSchema = R"sql(
CREATE TABLE packs(
  id             INTEGER PRIMARY KEY,
  name           TEXT NOT NULL UNIQUE,
  committed_size INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE blocks(
  digest BLOB PRIMARY KEY,
  pack   INTEGER NOT NULL REFERENCES packs(id),
  offset INTEGER NOT NULL,
  size   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE trees(
  tree_cid   BLOB PRIMARY KEY,
  leaf_count INTEGER NOT NULL,
  leaves     BLOB NOT NULL
);
CREATE TABLE datasets(
  manifest_cid BLOB PRIMARY KEY,
  tree_cid     BLOB NOT NULL REFERENCES trees(tree_cid),
  manifest     BLOB NOT NULL,
  protected    INTEGER NOT NULL,
  held_slots   INTEGER,
  added_at     INTEGER NOT NULL
);
PRAGMA user_version = 1;
)sql";

// Version 2: the cell roots of held slots' blocks, cached for storage proofs.
const char* kSchemaV2 = R"sql(
CREATE TABLE slot_trees(
  manifest_cid BLOB NOT NULL,
  slot         INTEGER NOT NULL,
  block_roots  BLOB NOT NULL,
  PRIMARY KEY(manifest_cid, slot)
) WITHOUT ROWID;
PRAGMA user_version = 2;
)sql";

}  // namespace

// One SQLite connection and its prepared lookup. A connection is used by one
// thread at a time: each operation leases one from the pool (a batch holds
// its own for its life), so threads of one process share a Repository.
struct Connection {
  sql::Database db;
  sql::Statement find_block;
};

struct Repository::Impl {
  std::string dir;
  bool read_only = false;  // the user cannot write it: read-only connections, no batches
  std::string packs_dir;
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Connection>> idle;  // connections not leased
  Env* env = nullptr;
  mutable std::mutex files_mutex;
  mutable std::map<std::int64_t, std::unique_ptr<File>> read_files;  // opened once, read from any thread

  std::string pack_path(std::int64_t id) const { return packs_dir + "/" + packs::name(id); }

  Result<File*> read_file(std::int64_t pack) const {
    std::lock_guard lock(files_mutex);
    auto it = read_files.find(pack);
    if (it != read_files.end()) return it->second.get();
    auto file = env->open(pack_path(pack), Env::Open::read);
    if (!file) {
      Error error = std::move(file).error();
      if (error.code == Errc::not_found) error.code = Errc::corrupt;  // indexed but gone: the repository is damaged
      return error;
    }
    File* raw = file->get();
    read_files.emplace(pack, std::move(*file));
    return raw;
  }

  static Result<std::unique_ptr<Connection>> connect(const std::string& dir, bool read_only) {
    auto connection = std::make_unique<Connection>();
    if (read_only) {
      CODEX_TRY_ASSIGN(connection->db, sql::Database::open_read_only(dir + "/codex.db"));
      return connection;
    }
    CODEX_TRY_ASSIGN(connection->db, sql::Database::open(dir + "/codex.db"));
    CODEX_TRY(connection->db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
    return connection;
  }

  // A connection for the caller's thread until the lease ends.
  class Lease {
   public:
    Lease(Impl* impl, std::unique_ptr<Connection> connection) : impl_(impl), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&& other) noexcept = default;
    ~Lease() {
      if (!connection_) return;
      std::lock_guard lock(impl_->pool_mutex);
      impl_->idle.push_back(std::move(connection_));
    }
    Connection* operator->() const { return connection_.get(); }
    sql::Database& db() const { return connection_->db; }

   private:
    Impl* impl_;
    std::unique_ptr<Connection> connection_;
  };

  Result<Lease> lease() {
    {
      std::lock_guard lock(pool_mutex);
      if (!idle.empty()) {
        auto connection = std::move(idle.back());
        idle.pop_back();
        return Lease(this, std::move(connection));
      }
    }
    CODEX_TRY_ASSIGN(auto connection, connect(dir, read_only));
    CODEX_TRY_ASSIGN(connection->find_block,
                     connection->db.prepare("SELECT pack, offset, size FROM blocks WHERE digest = ?"));
    return Lease(this, std::move(connection));
  }
};

Repository::Repository(std::string dir, std::unique_ptr<Impl> impl) : dir_(std::move(dir)), impl_(std::move(impl)) {}
Repository::~Repository() = default;

Result<std::unique_ptr<Repository>> Repository::open(const std::string& dir, OpenMode mode, Env& env) {
  std::error_code ec;
  if (mode == OpenMode::existing && !std::filesystem::exists(dir + "/codex.db", ec))
    return make_error(Errc::not_found, "there is no repository at '{}' (no codex.db)", dir);
  auto impl = std::make_unique<Impl>();
  impl->env = &env;
  impl->dir = dir;
  impl->packs_dir = dir + "/packs";
  // A repository this user may read but not write (another user's, a
  // read-only mount) is opened read-only for the commands that only read.
  impl->read_only = mode == OpenMode::existing &&
                    (!env.writable(dir + "/codex.db") || !env.writable(dir));
  if (impl->read_only) {
    CODEX_TRY_ASSIGN(auto reader, Impl::connect(dir, true));
    CODEX_TRY_ASSIGN(auto version_query, reader->db.prepare("PRAGMA user_version"));
    CODEX_TRY_ASSIGN(bool has_row, version_query.step());
    const std::int64_t version = has_row ? version_query.int64(0) : 0;
    version_query.reset();
    version_query = sql::Statement();
    if (version != kSchemaVersion)
      return make_error(Errc::usage,
                        "repository '{}' has schema version {} and is read-only here; it must be opened once with "
                        "write access to upgrade it to {}",
                        dir, version, kSchemaVersion);
    CODEX_TRY_ASSIGN(reader->find_block, reader->db.prepare("SELECT pack, offset, size FROM blocks WHERE digest = ?"));
    impl->idle.push_back(std::move(reader));
    return std::unique_ptr<Repository>(new Repository(dir, std::move(impl)));
  }
  if (Status created = env.create_directories(dir + "/packs"); !created)
    return make_error(created.error().code, "cannot create repository '{}': {}", dir, created.error().message);
  CODEX_TRY_ASSIGN(auto first, Impl::connect(dir, false));
  sql::Database& db = first->db;
  CODEX_TRY_ASSIGN(auto version_query, db.prepare("PRAGMA user_version"));
  CODEX_TRY_ASSIGN(bool has_row, version_query.step());
  std::int64_t version = has_row ? version_query.int64(0) : 0;
  version_query.reset();
  if (version == 0) {
    CODEX_TRY_ASSIGN(auto transaction, sql::Transaction::begin(db));
    // Another process may have created the schema while we waited for the lock.
    CODEX_TRY_ASSIGN(bool again, version_query.step());
    std::int64_t now_version = again ? version_query.int64(0) : 0;
    version_query.reset();
    if (now_version == 0) CODEX_TRY(db.exec(kSchema));
    if (now_version <= 1) CODEX_TRY(db.exec(kSchemaV2));
    CODEX_TRY(transaction.commit());
  } else if (version == 1) {
    CODEX_TRY_ASSIGN(auto transaction, sql::Transaction::begin(db));
    CODEX_TRY_ASSIGN(bool again, version_query.step());
    std::int64_t now_version = again ? version_query.int64(0) : 0;
    version_query.reset();
    if (now_version == 1) CODEX_TRY(db.exec(kSchemaV2));
    CODEX_TRY(transaction.commit());
  } else if (version > kSchemaVersion) {
    return make_error(Errc::usage, "repository '{}' has schema version {}, newer than this tool's {}", dir, version,
                      kSchemaVersion);
  }
  version_query = sql::Statement();
  CODEX_TRY_ASSIGN(first->find_block, db.prepare("SELECT pack, offset, size FROM blocks WHERE digest = ?"));
  impl->idle.push_back(std::move(first));
  return std::unique_ptr<Repository>(new Repository(dir, std::move(impl)));
}

bool Repository::read_only() const { return impl_->read_only; }

static Result<DatasetRecord> record_from_row(const sql::Statement& row) {
  DatasetRecord record;
  CODEX_TRY_ASSIGN(record.manifest_cid, Cid::from_bytes(row.blob(0)));
  ByteView bytes = row.blob(1);
  record.manifest_bytes.assign(bytes.begin(), bytes.end());
  auto manifest = decode_manifest(record.manifest_bytes);
  if (!manifest)
    return make_error(Errc::corrupt, "stored manifest '{}' does not decode: {}", record.manifest_cid.to_string(),
                      manifest.error().message);
  record.manifest = std::move(*manifest);
  if (!row.is_null(2)) record.held_slots = static_cast<std::uint32_t>(row.int64(2));
  record.added_at = row.int64(3);
  return record;
}

Result<std::optional<DatasetRecord>> Repository::find_dataset(const Cid& manifest_cid) {
  CODEX_TRY_ASSIGN(auto lease, impl_->lease());
  CODEX_TRY_ASSIGN(auto query, lease.db().prepare(
                                   "SELECT manifest_cid, manifest, held_slots, added_at FROM datasets "
                                   "WHERE manifest_cid = ?"));
  query.bind(1, ByteView(manifest_cid.bytes()));
  CODEX_TRY_ASSIGN(bool row, query.step());
  if (!row) return std::optional<DatasetRecord>();
  CODEX_TRY_ASSIGN(auto record, record_from_row(query));
  return std::optional<DatasetRecord>(std::move(record));
}

Result<std::vector<DatasetRecord>> Repository::datasets() {
  CODEX_TRY_ASSIGN(auto lease, impl_->lease());
  CODEX_TRY_ASSIGN(auto query, lease.db().prepare(
                                   "SELECT manifest_cid, manifest, held_slots, added_at FROM datasets "
                                   "ORDER BY added_at, manifest_cid"));
  std::vector<DatasetRecord> out;
  for (;;) {
    CODEX_TRY_ASSIGN(bool row, query.step());
    if (!row) break;
    CODEX_TRY_ASSIGN(auto record, record_from_row(query));
    out.push_back(std::move(record));
  }
  return out;
}

Result<std::vector<Digest>> Repository::tree_leaves(const Cid& tree) {
  CODEX_TRY_ASSIGN(auto lease, impl_->lease());
  CODEX_TRY_ASSIGN(auto query, lease.db().prepare("SELECT leaf_count, leaves FROM trees WHERE tree_cid = ?"));
  query.bind(1, ByteView(tree.bytes()));
  CODEX_TRY_ASSIGN(bool row, query.step());
  if (!row) return make_error(Errc::not_found, "tree '{}' is not in the repository", tree.to_string());
  std::int64_t count = query.int64(0);
  ByteView blob = query.blob(1);
  if (count < 1 || blob.size() != static_cast<std::size_t>(count) * 32)
    return make_error(Errc::corrupt, "tree '{}' has a damaged leaf list in the database", tree.to_string());
  std::vector<Digest> leaves(static_cast<std::size_t>(count));
  std::memcpy(leaves.data(), blob.data(), blob.size());
  query.reset();
  return leaves;
}

Result<std::optional<std::vector<Digest>>> Repository::slot_block_roots(const Cid& manifest_cid, std::uint32_t slot) {
  CODEX_TRY_ASSIGN(auto lease, impl_->lease());
  CODEX_TRY_ASSIGN(auto query, lease.db().prepare("SELECT block_roots FROM slot_trees WHERE manifest_cid = ? AND slot = ?"));
  query.bind(1, ByteView(manifest_cid.bytes())).bind(2, static_cast<std::int64_t>(slot));
  CODEX_TRY_ASSIGN(bool row, query.step());
  if (!row) return std::optional<std::vector<Digest>>();
  ByteView blob = query.blob(0);
  if (blob.empty() || blob.size() % sizeof(Digest) != 0)
    return make_error(Errc::corrupt, "the cached cell roots of slot {} of '{}' are damaged", slot, manifest_cid.to_string());
  std::vector<Digest> roots(blob.size() / sizeof(Digest));
  std::memcpy(roots.data(), blob.data(), blob.size());
  query.reset();
  return std::optional<std::vector<Digest>>(std::move(roots));
}

Status Repository::store_slot_block_roots(const Cid& manifest_cid, std::uint32_t slot, std::span<const Digest> roots) {
  CODEX_TRY_ASSIGN(auto lease, impl_->lease());
  CODEX_TRY_ASSIGN(auto insert, lease.db().prepare(
                                    "INSERT OR REPLACE INTO slot_trees(manifest_cid, slot, block_roots) VALUES (?,?,?)"));
  ByteView blob(reinterpret_cast<const std::uint8_t*>(roots.data()), roots.size() * sizeof(Digest));
  return insert.bind(1, ByteView(manifest_cid.bytes())).bind(2, static_cast<std::int64_t>(slot)).bind(3, blob).run();
}

Status Repository::drop_slot(const Cid& manifest_cid, std::uint32_t slot) {
  CODEX_TRY_ASSIGN(auto found, find_dataset(manifest_cid));
  if (!found) return make_error(Errc::not_found, "dataset '{}' is not in the repository", manifest_cid.to_string());
  if (slot >= 32) return make_error(Errc::usage, "there is no slot {}", slot);
  std::uint32_t held = found->held_slots.value_or(0);
  if (!found->held_slots) {
    // Every slot was held: all but this one now.
    auto layout = found->manifest.erasure;
    if (!layout) return make_error(Errc::usage, "dataset '{}' is plain: it has no slots", manifest_cid.to_string());
    const std::uint32_t slots = layout->k + layout->m;
    held = slots >= 32 ? 0xffffffffu : ((1u << slots) - 1);
  }
  held &= ~(1u << slot);
  CODEX_TRY_ASSIGN(auto lease, impl_->lease());
  if (held == 0) {
    CODEX_TRY_ASSIGN(auto del, lease.db().prepare("DELETE FROM datasets WHERE manifest_cid = ?"));
    CODEX_TRY(del.bind(1, ByteView(manifest_cid.bytes())).run());
  } else {
    CODEX_TRY_ASSIGN(auto update, lease.db().prepare("UPDATE datasets SET held_slots = ? WHERE manifest_cid = ?"));
    CODEX_TRY(update.bind(1, static_cast<std::int64_t>(held)).bind(2, ByteView(manifest_cid.bytes())).run());
  }
  CODEX_TRY_ASSIGN(auto forget, lease.db().prepare("DELETE FROM slot_trees WHERE manifest_cid = ? AND slot = ?"));
  return forget.bind(1, ByteView(manifest_cid.bytes())).bind(2, static_cast<std::int64_t>(slot)).run();
}

static Result<std::optional<BlockLocation>> locate_with(sql::Statement& query, const Digest& digest) {
  query.bind(1, ByteView(digest));
  CODEX_TRY_ASSIGN(bool row, query.step());
  if (!row) return std::optional<BlockLocation>();
  BlockLocation location{query.int64(0), static_cast<std::uint64_t>(query.int64(1)),
                         static_cast<std::uint32_t>(query.int64(2))};
  query.reset();
  return std::optional<BlockLocation>(location);
}

Result<std::optional<BlockLocation>> Repository::locate_block(const Digest& digest) {
  CODEX_TRY_ASSIGN(auto lease, impl_->lease());
  return locate_with(lease->find_block, digest);
}

Status Repository::locate_blocks(std::span<const Digest> digests, std::span<std::optional<BlockLocation>> out) {
  CODEX_TRY_ASSIGN(auto lease, impl_->lease());
  CODEX_TRY_ASSIGN(auto reading, sql::Transaction::begin_read(lease.db()));  // one read lock for the lot
  for (std::size_t i = 0; i < digests.size(); ++i) {
    CODEX_TRY_ASSIGN(out[i], locate_with(lease->find_block, digests[i]));
  }
  return {};
}

Status Repository::read_location(const BlockLocation& location, Bytes& out) const {
  CODEX_TRY_ASSIGN(File* file, impl_->read_file(location.pack));
  out.resize(location.size);
  return file->read_at(location.offset, out);
}

Status Repository::read_block(const Digest& digest, Bytes& out) {
  if (digest == empty_digest()) {
    out.clear();
    return {};
  }
  CODEX_TRY_ASSIGN(auto location, locate_block(digest));
  const Cid cid = Cid::from_digest(codec::block, digest);
  if (!location) return make_error(Errc::not_found, "block '{}' is not in the repository", cid.to_string());
  Status status = read_location(*location, out);
  if (!status && status.error().code == Errc::corrupt) {
    // Its pack may have been retired by `codex-repo gc` since the lookup.
    CODEX_TRY_ASSIGN(auto again, locate_block(digest));
    if (again && (again->pack != location->pack || again->offset != location->offset))
      status = read_location(*again, out);
  }
  if (!status) {
    Error error = std::move(status).error();
    if (error.code == Errc::corrupt) error.message = fmt::format("block '{}': {}", cid.to_string(), error.message);
    return error;
  }
  if (sha256(out) != digest)
    return make_error(Errc::corrupt, "block '{}' is corrupt: its stored bytes do not match its CID", cid.to_string());
  return {};
}

// ---------------------------------------------------------------------------
// Batches

struct Repository::Batch::State {
  explicit State(Repository::Impl::Lease l) : lease(std::move(l)) {}
  Repository::Impl* repo = nullptr;
  Repository::Impl::Lease lease;  // this batch's own connection
  std::unique_ptr<File> gc_lock;  // shared lock on DIR/gc.lock: no gc sweep while this batch lives
  std::unique_ptr<File> file;     // the pack, locked
  std::int64_t pack = 0;
  std::string path;
  bool new_pack = false;
  std::uint64_t start = 0;  // the pack's committed size when the batch began
  std::uint64_t end = 0;    // bytes written so far (buffer included)
  Bytes buffer;
  std::uint64_t buffer_offset = 0;  // where `buffer` goes in the pack
  // The previous buffer, being written behind by another thread while the
  // caller checks the next blocks (its hashing overlaps the copy into the
  // page cache); `writing` says how that write went.
  Bytes in_flight;
  std::future<Status> writing;
  struct Pending {
    Digest digest;
    std::uint64_t offset;
    std::uint32_t size;
    bool replace;
  };
  std::vector<Pending> pending;
  std::unordered_set<Digest, DigestHash> queued;
  std::vector<std::pair<Cid, std::vector<Digest>>> trees;
  std::vector<DatasetRecord> datasets;
  bool done = false;

  ~State() {
    (void)settle();
    if (file) {
      // On failure the next writer of this pack cuts the tail itself.
      if (!done) (void)file->truncate(start);
      file.reset();  // releases the lock
    }
    gc_lock.reset();
  }

  // Hands the buffer to a writer thread, once the previous one is written.
  Status write_behind() {
    if (buffer.empty()) return {};
    CODEX_TRY(settle());
    std::swap(buffer, in_flight);
    buffer.clear();
    buffer.reserve(kWriteBuffer);
    const std::uint64_t at = buffer_offset;
    buffer_offset += in_flight.size();
    writing = std::async(std::launch::async, [this, at]() -> Status {
      CODEX_TRY(file->write_at(at, in_flight));
      // Start the disk on these bytes now rather than at commit's sync, so
      // that it writes while the next blocks are checked.
      file->start_writeback(at, in_flight.size());
      return Status();
    });
    return {};
  }

  // Waits for the write behind, if one is in flight.
  Status settle() { return writing.valid() ? writing.get() : Status(); }

  // Everything added so far is in the pack (not yet synced).
  Status flush() {
    CODEX_TRY(write_behind());
    return settle();
  }

  // Moves the kept blocks down over the dropped ones, within this batch's region.
  Status compact(const std::function<bool(const Digest&)>& keep) {
    std::vector<Pending> kept;
    std::uint64_t write_at = start;
    Bytes block;
    for (const Pending& p : pending) {
      if (!keep(p.digest)) continue;
      if (p.offset != write_at) {
        block.resize(p.size);
        CODEX_TRY(file->read_at(p.offset, block));
        CODEX_TRY(file->write_at(write_at, block));
      }
      kept.push_back({p.digest, write_at, p.size, p.replace});
      write_at += p.size;
    }
    pending = std::move(kept);
    end = write_at;
    CODEX_TRY(file->truncate(end));
    return {};
  }
};

Repository::Batch::Batch(std::unique_ptr<State> state) : state_(std::move(state)) {}
Repository::Batch::~Batch() = default;

Result<std::unique_ptr<Repository::Batch>> Repository::begin_batch() {
  if (impl_->read_only) return make_error(Errc::io, "repository '{}' is read-only for this user", dir_);
  CODEX_TRY_ASSIGN(auto lease, impl_->lease());
  auto state = std::make_unique<Batch::State>(std::move(lease));
  state->repo = impl_.get();
  {
    const std::string lock_path = dir_ + "/gc.lock";
    CODEX_TRY_ASSIGN(state->gc_lock, impl_->env->open(lock_path, Env::Open::read_write_create));
    CODEX_TRY(state->gc_lock->lock(File::Lock::shared));
  }
  state->buffer.reserve(kWriteBuffer);
  auto& db = state->lease.db();
  // Try the open packs (a pack locked by another writer is skipped); when
  // none can be had, add a new pack and take that.
  for (int attempt = 0; attempt < 64 && !state->file; ++attempt) {
    std::vector<std::int64_t> candidates;
    bool created = false;
    if (attempt == 0) {
      CODEX_TRY_ASSIGN(auto open_packs, db.prepare("SELECT id FROM packs WHERE committed_size < ? ORDER BY id"));
      open_packs.bind(1, static_cast<std::int64_t>(kPackLimit));
      for (;;) {
        CODEX_TRY_ASSIGN(bool row, open_packs.step());
        if (!row) break;
        candidates.push_back(open_packs.int64(0));
      }
    }
    if (candidates.empty()) {
      CODEX_TRY_ASSIGN(std::int64_t id, packs::add(db));
      candidates.push_back(id);
      created = true;
    }
    for (std::int64_t id : candidates) {
      std::string path = impl_->pack_path(id);
      CODEX_TRY_ASSIGN(auto file, impl_->env->open(path, Env::Open::read_write_create));
      CODEX_TRY_ASSIGN(bool locked, file->try_lock());
      if (!locked) continue;
      // Holding the lock, the committed size can no longer change under us.
      CODEX_TRY_ASSIGN(auto size_query, db.prepare("SELECT committed_size FROM packs WHERE id = ?"));
      size_query.bind(1, id);
      CODEX_TRY_ASSIGN(bool row, size_query.step());
      std::int64_t committed = row ? size_query.int64(0) : -1;
      size_query.reset();
      if (committed < 0 || static_cast<std::uint64_t>(committed) >= kPackLimit) {
        continue;
      }
      // Cut any tail a crashed or failed writer left behind.
      CODEX_TRY(file->truncate(static_cast<std::uint64_t>(committed)));
      state->file = std::move(file);
      state->pack = id;
      state->path = path;
      state->new_pack = created;
      state->start = state->end = state->buffer_offset = static_cast<std::uint64_t>(committed);
      break;
    }
  }
  if (!state->file) return make_error(Errc::io, "repository '{}': no pack could be locked for writing", dir_);
  return std::unique_ptr<Batch>(new Batch(std::move(state)));
}

Status Repository::Batch::add_block(const Digest& digest, ByteView data, bool replace) {
  State& s = *state_;
  if (data.empty() || s.queued.count(digest)) return {};
  if (!replace) {
    auto& query = s.lease->find_block;
    query.bind(1, ByteView(digest));
    CODEX_TRY_ASSIGN(bool exists, query.step());
    query.reset();
    if (exists) return {};
  }
  if (s.buffer.size() + data.size() > kWriteBuffer) CODEX_TRY(s.write_behind());
  if (data.size() >= kWriteBuffer) {
    CODEX_TRY(s.file->write_at(s.buffer_offset, data));
    s.buffer_offset += data.size();
  } else {
    s.buffer.insert(s.buffer.end(), data.begin(), data.end());
  }
  s.pending.push_back({digest, s.end, static_cast<std::uint32_t>(data.size()), replace});
  s.queued.insert(digest);
  s.end += data.size();
  return {};
}

void Repository::Batch::add_tree(const Cid& tree, std::vector<Digest> leaves) {
  state_->trees.emplace_back(tree, std::move(leaves));
}

void Repository::Batch::add_dataset(DatasetRecord record) { state_->datasets.push_back(std::move(record)); }

std::uint64_t Repository::Batch::bytes_written() const { return state_->end - state_->start; }
std::uint64_t Repository::Batch::blocks_written() const { return state_->pending.size(); }

Status Repository::Batch::commit(const std::function<bool(const Digest&)>& keep) {
  State& s = *state_;
  if (s.done) return make_error(Errc::failure, "batch committed twice");
  CODEX_TRY(s.flush());
  if (keep) CODEX_TRY(s.compact(keep));
  if (s.end > s.start) CODEX_TRY(s.file->sync());
  if (s.new_pack) CODEX_TRY(s.repo->env->sync_directory(s.repo->packs_dir));

  auto& db = s.lease.db();
  CODEX_TRY_ASSIGN(auto transaction, sql::Transaction::begin(db));
  CODEX_TRY_ASSIGN(auto insert, db.prepare("INSERT OR IGNORE INTO blocks(digest, pack, offset, size) VALUES (?,?,?,?)"));
  CODEX_TRY_ASSIGN(auto replace, db.prepare("INSERT OR REPLACE INTO blocks(digest, pack, offset, size) VALUES (?,?,?,?)"));
  for (const auto& p : s.pending) {
    auto& statement = p.replace ? replace : insert;
    CODEX_TRY(statement.bind(1, ByteView(p.digest))
                  .bind(2, s.pack)
                  .bind(3, static_cast<std::int64_t>(p.offset))
                  .bind(4, static_cast<std::int64_t>(p.size))
                  .run());
  }
  CODEX_TRY_ASSIGN(auto tree, db.prepare("INSERT OR IGNORE INTO trees(tree_cid, leaf_count, leaves) VALUES (?,?,?)"));
  for (const auto& [cid, leaves] : s.trees) {
    ByteView blob(reinterpret_cast<const std::uint8_t*>(leaves.data()), leaves.size() * 32);
    CODEX_TRY(tree.bind(1, ByteView(cid.bytes())).bind(2, static_cast<std::int64_t>(leaves.size())).bind(3, blob).run());
  }
  CODEX_TRY_ASSIGN(auto dataset, db.prepare(
                                     "INSERT INTO datasets(manifest_cid, tree_cid, manifest, protected, held_slots, added_at) "
                                     "VALUES (?,?,?,?,?,?) ON CONFLICT(manifest_cid) DO UPDATE SET held_slots = "
                                     "CASE WHEN held_slots IS NULL OR excluded.held_slots IS NULL THEN NULL "
                                     "ELSE held_slots | excluded.held_slots END"));
  const std::int64_t now = s.repo->env->clock().unix_seconds();
  for (const auto& record : s.datasets) {
    dataset.bind(1, ByteView(record.manifest_cid.bytes()))
        .bind(2, ByteView(record.manifest.tree.bytes()))
        .bind(3, ByteView(record.manifest_bytes))
        .bind(4, static_cast<std::int64_t>(record.manifest.is_protected()))
        .bind(6, record.added_at ? record.added_at : now);
    if (record.held_slots) dataset.bind(5, static_cast<std::int64_t>(*record.held_slots));
    else dataset.bind_null(5);
    CODEX_TRY(dataset.run());
  }
  CODEX_TRY_ASSIGN(auto pack, db.prepare("UPDATE packs SET committed_size = ? WHERE id = ?"));
  CODEX_TRY(pack.bind(1, static_cast<std::int64_t>(s.end)).bind(2, s.pack).run());
  CODEX_TRY(transaction.commit());
  s.done = true;
  return {};
}

}  // namespace codex
