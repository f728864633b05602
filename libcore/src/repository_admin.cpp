// Removing datasets, gc and stats; see repository_admin.hpp for the two gc
// steps and why each is safe under kill -9 and beside running puts.
#include "codex/repository_admin.hpp"

#include <cstring>
#include <vector>

#include "codex/env.hpp"
#include "codex/repository.hpp"
#include "codex/sha256.hpp"
#include "pack_files.hpp"
#include "sqlite.hpp"

namespace codex {
namespace {

// A retired pack is named 'retired-ID' in the index, and has the size past
// which no writer takes it (pack_files.hpp).
constexpr std::int64_t kPackLimit = static_cast<std::int64_t>(packs::kLimit);
constexpr std::size_t kCopyBuffer = 1 << 20;

}  // namespace

struct RepositoryAdmin::Impl {
  std::string dir;
  Env* env = nullptr;  // every file gc touches goes through it (fault-injection tests wrap it)
  sql::Database db;

  // Fills TEMP table live with every digest some dataset's tree names.
  Status build_live_set() {
    CODEX_TRY(db.exec("CREATE TEMP TABLE IF NOT EXISTS live(digest BLOB PRIMARY KEY) WITHOUT ROWID; DELETE FROM live;"));
    CODEX_TRY_ASSIGN(auto trees, db.prepare(
                                     "SELECT leaves FROM trees WHERE tree_cid IN (SELECT tree_cid FROM datasets)"));
    CODEX_TRY_ASSIGN(auto insert, db.prepare("INSERT OR IGNORE INTO temp.live(digest) VALUES (?)"));
    for (;;) {
      CODEX_TRY_ASSIGN(bool row, trees.step());
      if (!row) break;
      ByteView leaves = trees.blob(0);
      if (leaves.size() % sizeof(Digest) != 0)
        return make_error(Errc::corrupt, "database '{}': a tree has a damaged leaf list", db.path());
      for (std::size_t at = 0; at < leaves.size(); at += sizeof(Digest))
        CODEX_TRY(insert.bind(1, leaves.subspan(at, sizeof(Digest))).run());
    }
    return {};
  }

  Result<std::int64_t> scalar(const std::string& query) {
    CODEX_TRY_ASSIGN(auto statement, db.prepare(query));
    CODEX_TRY_ASSIGN(bool row, statement.step());
    std::int64_t value = row ? statement.int64(0) : 0;
    statement.reset();
    return value;
  }

  // A new pack for gc's copies, created empty and locked by gc before any
  // writer can take it (a writer that wins the race keeps it; gc makes another).
  Result<std::pair<std::int64_t, std::unique_ptr<File>>> new_pack() {
    for (int attempt = 0; attempt < 16; ++attempt) {
      CODEX_TRY_ASSIGN(const std::int64_t id, packs::add(db));
      CODEX_TRY_ASSIGN(auto file, env->open(packs::path(dir, id), Env::Open::read_write_create));
      CODEX_TRY_ASSIGN(bool locked, file->try_lock());
      if (locked) return std::pair<std::int64_t, std::unique_ptr<File>>(id, std::move(file));
    }
    return make_error(Errc::io, "repository '{}': no new pack could be locked for gc", dir);
  }
};

Result<GcHold> GcHold::take(const std::string& dir, Env& env) {
  CODEX_TRY_ASSIGN(auto lock, env.open(dir + "/gc.lock", Env::Open::read_write_create));
  CODEX_TRY(lock->lock(File::Lock::shared));
  return GcHold(std::move(lock));
}

GcHold::~GcHold() = default;  // closing the file releases the lock

RepositoryAdmin::RepositoryAdmin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RepositoryAdmin::~RepositoryAdmin() = default;

Result<std::unique_ptr<RepositoryAdmin>> RepositoryAdmin::open(const std::string& dir, bool read_only, Env& env) {
  // Repository::open checks the directory and upgrades an older schema.
  CODEX_TRY_ASSIGN(auto repository, Repository::open(dir, Repository::OpenMode::existing, env));
  if (!read_only && repository->read_only())
    return make_error(Errc::io, "repository '{}' is read-only for this user", dir);
  read_only = read_only || repository->read_only();
  repository.reset();
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->env = &env;
  if (read_only) {
    CODEX_TRY_ASSIGN(impl->db, sql::Database::open_read_only(dir + "/codex.db"));
  } else {
    CODEX_TRY_ASSIGN(impl->db, sql::Database::open(dir + "/codex.db"));
    CODEX_TRY(impl->db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  }
  return std::unique_ptr<RepositoryAdmin>(new RepositoryAdmin(std::move(impl)));
}

Status RepositoryAdmin::remove_dataset(const Cid& manifest_cid) {
  auto& db = impl_->db;
  CODEX_TRY_ASSIGN(auto transaction, sql::Transaction::begin(db));
  CODEX_TRY_ASSIGN(auto remove, db.prepare("DELETE FROM datasets WHERE manifest_cid = ? RETURNING 1"));
  remove.bind(1, ByteView(manifest_cid.bytes()));
  CODEX_TRY_ASSIGN(bool found, remove.step());
  remove.reset();
  if (!found) return make_error(Errc::not_found, "dataset '{}' is not in the repository", manifest_cid.to_string());
  CODEX_TRY_ASSIGN(auto slots, db.prepare("DELETE FROM slot_trees WHERE manifest_cid = ?"));
  CODEX_TRY(slots.bind(1, ByteView(manifest_cid.bytes())).run());
  return transaction.commit();
}

Result<RepositoryStats> RepositoryAdmin::stats() {
  auto& s = *impl_;
  RepositoryStats stats;
  // One read transaction: every count sees the same state.
  CODEX_TRY(s.db.exec("BEGIN"));
  struct Rollback {
    sql::Database& db;
    ~Rollback() { (void)db.exec("ROLLBACK"); }
  } rollback{s.db};
  CODEX_TRY(s.build_live_set());
  CODEX_TRY_ASSIGN(auto datasets, s.scalar("SELECT count(*) FROM datasets"));
  CODEX_TRY_ASSIGN(auto protected_count, s.scalar("SELECT count(*) FROM datasets WHERE protected != 0"));
  CODEX_TRY_ASSIGN(auto blocks, s.scalar("SELECT count(*) FROM blocks"));
  CODEX_TRY_ASSIGN(auto live_blocks, s.scalar("SELECT count(*) FROM blocks WHERE digest IN (SELECT digest FROM temp.live)"));
  CODEX_TRY_ASSIGN(auto live_bytes,
                   s.scalar("SELECT IFNULL(SUM(size), 0) FROM blocks WHERE digest IN (SELECT digest FROM temp.live)"));
  CODEX_TRY_ASSIGN(auto packs, s.scalar("SELECT count(*) FROM packs WHERE name NOT LIKE 'retired-%'"));
  CODEX_TRY_ASSIGN(auto stored, s.scalar("SELECT IFNULL(SUM(committed_size), 0) FROM packs WHERE name NOT LIKE 'retired-%'"));
  stats.datasets = static_cast<std::uint64_t>(datasets);
  stats.protected_datasets = static_cast<std::uint64_t>(protected_count);
  stats.blocks = static_cast<std::uint64_t>(blocks);
  stats.live_blocks = static_cast<std::uint64_t>(live_blocks);
  stats.packs = static_cast<std::uint64_t>(packs);
  stats.stored_bytes = static_cast<std::uint64_t>(stored);
  stats.live_bytes = static_cast<std::uint64_t>(live_bytes);
  stats.dead_bytes = stats.stored_bytes > stats.live_bytes ? stats.stored_bytes - stats.live_bytes : 0;
  return stats;
}

Result<GcReport> RepositoryAdmin::gc(const GcOptions& options) {
  auto& s = *impl_;
  auto& db = s.db;
  GcReport report;
  std::uint64_t deleted_bytes = 0;

  // Retired packs a crashed gc left on disk.
  {
    CODEX_TRY_ASSIGN(auto retired, db.prepare("SELECT id FROM packs WHERE name LIKE 'retired-%'"));
    for (;;) {
      CODEX_TRY_ASSIGN(bool row, retired.step());
      if (!row) break;
      const std::string path = packs::path(s.dir, retired.int64(0));
      auto file = s.env->open(path, Env::Open::read);
      if (!file) continue;  // already deleted
      auto size = (*file)->size();
      file->reset();
      if (size && s.env->remove_file(path)) deleted_bytes += *size;
    }
  }

  // 1. Sweep the index, with no batch open anywhere.
  {
    const std::string lock_path = s.dir + "/gc.lock";
    CODEX_TRY_ASSIGN(auto lock, s.env->open(lock_path, Env::Open::read_write_create));
    CODEX_TRY_ASSIGN(bool locked, lock->try_lock());
    if (!locked) {
      if (options.on_wait) options.on_wait();
      CODEX_TRY(lock->lock(File::Lock::exclusive));
    }
    CODEX_TRY_ASSIGN(auto transaction, sql::Transaction::begin(db));
    CODEX_TRY(s.build_live_set());
    CODEX_TRY_ASSIGN(auto count, s.scalar("SELECT count(*) FROM blocks WHERE digest NOT IN (SELECT digest FROM temp.live)"));
    CODEX_TRY_ASSIGN(auto bytes, s.scalar(
                                     "SELECT IFNULL(SUM(size), 0) FROM blocks WHERE digest NOT IN (SELECT digest FROM temp.live)"));
    report.unreferenced_blocks = static_cast<std::uint64_t>(count);
    report.unreferenced_bytes = static_cast<std::uint64_t>(bytes);
    CODEX_TRY(db.exec(
        "DELETE FROM blocks WHERE digest NOT IN (SELECT digest FROM temp.live);"
        "DELETE FROM trees WHERE tree_cid NOT IN (SELECT tree_cid FROM datasets);"
        "DELETE FROM slot_trees WHERE manifest_cid NOT IN (SELECT manifest_cid FROM datasets);"
        "DELETE FROM temp.live;"));
    CODEX_TRY(transaction.commit());
  }

  // 2. Compact the packs that hold dead bytes.
  struct PackUse {
    std::int64_t id, committed, live;
  };
  std::vector<PackUse> candidates;
  {
    CODEX_TRY_ASSIGN(auto query, db.prepare(
                                     "SELECT p.id, p.committed_size, IFNULL((SELECT SUM(size) FROM blocks b WHERE b.pack = p.id), 0) "
                                     "FROM packs p WHERE p.name NOT LIKE 'retired-%' ORDER BY p.id"));
    for (;;) {
      CODEX_TRY_ASSIGN(bool row, query.step());
      if (!row) break;
      candidates.push_back({query.int64(0), query.int64(1), query.int64(2)});
    }
  }
  std::int64_t target = 0;  // gc's output pack, created on first need
  std::unique_ptr<File> target_file;
  std::uint64_t target_end = 0;
  bool synced_dir = false;
  Bytes block, buffer;
  buffer.reserve(kCopyBuffer);
  struct Move {
    Digest digest;
    std::int64_t old_offset;
    std::uint64_t new_offset;
    std::uint32_t size;
  };

  for (const PackUse& use : candidates) {
    const std::string path = packs::path(s.dir, use.id);
    auto opened = s.env->open(path, Env::Open::read_write);
    if (!opened) {
      if (opened.error().code == Errc::not_found) continue;  // a pack whose writer has not created it yet
      return std::move(opened).error();
    }
    std::unique_ptr<File> file = std::move(*opened);
    CODEX_TRY_ASSIGN(bool locked, file->try_lock());
    if (!locked) {
      ++report.packs_busy;
      continue;
    }
    // Holding the pack's lock, its committed size and blocks can no longer change.
    CODEX_TRY_ASSIGN(auto size_query, db.prepare("SELECT committed_size FROM packs WHERE id = ?"));
    size_query.bind(1, use.id);
    CODEX_TRY_ASSIGN(bool has_row, size_query.step());
    if (!has_row) continue;
    const std::int64_t committed = size_query.int64(0);
    size_query.reset();
    std::vector<Move> moves;
    std::uint64_t live = 0;
    {
      CODEX_TRY_ASSIGN(auto blocks, db.prepare("SELECT digest, offset, size FROM blocks WHERE pack = ? ORDER BY offset"));
      blocks.bind(1, use.id);
      for (;;) {
        CODEX_TRY_ASSIGN(bool row, blocks.step());
        if (!row) break;
        Move move{};
        ByteView digest = blocks.blob(0);
        if (digest.size() != sizeof(Digest)) return make_error(Errc::corrupt, "database '{}': a block digest is damaged", db.path());
        std::memcpy(move.digest.data(), digest.data(), sizeof(Digest));
        move.old_offset = blocks.int64(1);
        move.size = static_cast<std::uint32_t>(blocks.int64(2));
        live += move.size;
        moves.push_back(move);
      }
    }
    CODEX_TRY_ASSIGN(const std::uint64_t file_size, file->size());
    if (committed >= 0 && live >= static_cast<std::uint64_t>(committed)) {
      // Nothing dead inside; an uncommitted tail a crashed writer left can go.
      if (file_size > static_cast<std::uint64_t>(committed) && file->truncate(static_cast<std::uint64_t>(committed)))
        deleted_bytes += file_size - static_cast<std::uint64_t>(committed);
      continue;
    }

    // Copy the live blocks to gc's pack, then make the copies durable. A full
    // gc pack is let go (its size was committed with the last pack copied into it).
    if (!moves.empty() && (!target_file || target_end >= static_cast<std::uint64_t>(kPackLimit))) {
      target_file.reset();
      CODEX_TRY_ASSIGN(auto created, s.new_pack());
      target = created.first;
      target_file = std::move(created.second);
      target_end = 0;
      synced_dir = false;
    }
    for (Move& move : moves) {
      block.resize(move.size);
      CODEX_TRY(file->read_at(static_cast<std::uint64_t>(move.old_offset), block));
      if (buffer.size() + block.size() > kCopyBuffer) {
        CODEX_TRY(target_file->write_at(target_end - buffer.size(), buffer));
        buffer.clear();
      }
      move.new_offset = target_end;
      buffer.insert(buffer.end(), block.begin(), block.end());
      target_end += move.size;
      report.bytes_moved += move.size;
    }
    if (!buffer.empty()) {
      CODEX_TRY(target_file->write_at(target_end - buffer.size(), buffer));
      buffer.clear();
    }
    if (!moves.empty()) {
      CODEX_TRY(target_file->sync());
      if (!synced_dir) {
        CODEX_TRY(s.env->sync_directory(s.dir + "/packs"));
        synced_dir = true;
      }
    }

    // Point the blocks at their copies and retire the old pack, at once.
    {
      CODEX_TRY_ASSIGN(auto transaction, sql::Transaction::begin(db));
      CODEX_TRY_ASSIGN(auto update, db.prepare(
                                        "UPDATE blocks SET pack = ?, offset = ? WHERE digest = ? AND pack = ? AND offset = ?"));
      for (const Move& move : moves)
        CODEX_TRY(update.bind(1, target)
                      .bind(2, static_cast<std::int64_t>(move.new_offset))
                      .bind(3, ByteView(move.digest))
                      .bind(4, use.id)
                      .bind(5, move.old_offset)
                      .run());
      CODEX_TRY_ASSIGN(auto remaining, db.prepare("SELECT count(*) FROM blocks WHERE pack = ?"));
      remaining.bind(1, use.id);
      CODEX_TRY_ASSIGN(bool row, remaining.step());
      const std::int64_t left = row ? remaining.int64(0) : 0;
      remaining.reset();
      if (left != 0)
        return make_error(Errc::failure, "gc: pack {} still has {} indexed blocks after compaction; nothing was changed",
                          use.id, left);
      if (!moves.empty()) {
        CODEX_TRY_ASSIGN(auto grow, db.prepare("UPDATE packs SET committed_size = ? WHERE id = ?"));
        CODEX_TRY(grow.bind(1, static_cast<std::int64_t>(target_end)).bind(2, target).run());
      }
      CODEX_TRY_ASSIGN(auto retire, db.prepare(
                                        "UPDATE packs SET name = 'retired-' || id, committed_size = ? WHERE id = ?"));
      CODEX_TRY(retire.bind(1, kPackLimit).bind(2, use.id).run());
      CODEX_TRY(transaction.commit());
    }
    // Deleted while still locked: no writer can have taken it meanwhile.
    if (s.env->remove_file(path)) deleted_bytes += file_size;
    report.blocks_moved += moves.size();
    ++report.packs_compacted;
    if (options.on_progress) options.on_progress(deleted_bytes > report.bytes_moved ? deleted_bytes - report.bytes_moved : 0);
  }
  (void)db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  report.bytes_reclaimed = deleted_bytes > report.bytes_moved ? deleted_bytes - report.bytes_moved : 0;
  return report;
}

}  // namespace codex
