// Faults injected through the Env into each durable write path (put,
// repair and gc): a full disk (ENOSPC) at every step, a short write (part of the
// bytes, then ENOSPC) at every write, a failing fsync at every sync. After
// each failure the repository is consistent (every pack exactly as long as
// the index says, no block past it, the index intact), the datasets stored
// before are byte-exact, and the interrupted one is either absent or whole;
// the same operation without faults then succeeds. For gc, nothing a
// dataset still references is lost, and the next gc finishes the work.
#include "codex/env.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <random>

#include "codex/block_source.hpp"
#include "codex/car.hpp"
#include "codex/dataset.hpp"
#include "codex/encode.hpp"
#include "codex/health.hpp"
#include "codex/io.hpp"
#include "codex/repository_admin.hpp"

namespace codex {
namespace {

using testing::random_bytes;
using testing::TempDir;
namespace fs = std::filesystem;

enum class Fault { enospc, short_write, failed_sync };
const char* fault_name(Fault f) {
  return f == Fault::enospc ? "ENOSPC" : f == Fault::short_write ? "short write" : "failed fsync";
}

// The system Env, but the `at`-th step of the chosen kind fails. Steps are
// the mutating calls: writes, syncs, truncates, directory syncs, removals.
class FaultEnv final : public Env {
 public:
  FaultEnv(Fault fault, int at) : fault_(fault), at_(at) {}
  bool fired() const { return fired_; }

  // Whether the current step of this kind is the one to fail.
  bool trip(bool eligible) {
    if (!eligible) return false;
    if (++count_ != at_) return false;
    fired_ = true;
    return true;
  }
  Error enospc(const std::string& what) { return make_error(Errc::io, "{}: No space left on device (injected)", what); }

  class FaultFile final : public File {
   public:
    FaultFile(FaultEnv& env, std::unique_ptr<File> real) : env_(env), real_(std::move(real)) {}
    Status read_at(std::uint64_t offset, MutableByteView out) override { return real_->read_at(offset, out); }
    Status write_at(std::uint64_t offset, ByteView data) override {
      if (env_.trip(env_.fault_ != Fault::failed_sync)) {
        if (env_.fault_ == Fault::short_write && data.size() > 1)
          (void)real_->write_at(offset, data.first(data.size() / 2));
        return env_.enospc("write '" + path() + "'");
      }
      return real_->write_at(offset, data);
    }
    Status sync() override {
      if (env_.trip(env_.fault_ != Fault::short_write))
        return make_error(Errc::io, "sync '{}': Input/output error (injected)", path());
      return real_->sync();
    }
    Status truncate(std::uint64_t size) override {
      if (env_.trip(env_.fault_ == Fault::enospc)) return env_.enospc("truncate '" + path() + "'");
      return real_->truncate(size);
    }
    Result<std::uint64_t> size() override { return real_->size(); }
    Result<bool> try_lock() override { return real_->try_lock(); }
    Status lock(Lock kind) override { return real_->lock(kind); }
    const std::string& path() const override { return real_->path(); }

   private:
    FaultEnv& env_;
    std::unique_ptr<File> real_;
  };

  Result<std::unique_ptr<File>> open(const std::string& path, Open mode) override {
    CODEX_TRY_ASSIGN(auto real, system_env().open(path, mode));
    return std::unique_ptr<File>(new FaultFile(*this, std::move(real)));
  }
  Status create_directories(const std::string& path) override { return system_env().create_directories(path); }
  Status remove_file(const std::string& path) override {
    if (trip(fault_ == Fault::enospc))
      return make_error(Errc::io, "remove '{}': Input/output error (injected)", path);
    return system_env().remove_file(path);
  }
  bool writable(const std::string& path) override { return system_env().writable(path); }
  Status sync_directory(const std::string& path) override {
    if (trip(fault_ != Fault::short_write))
      return make_error(Errc::io, "sync directory '{}': Input/output error (injected)", path);
    return system_env().sync_directory(path);
  }
  Result<std::unique_ptr<File>> temp_file(const std::string& dir) override {
    CODEX_TRY_ASSIGN(auto real, system_env().temp_file(dir));
    return std::unique_ptr<File>(new FaultFile(*this, std::move(real)));
  }
  Clock& clock() override { return system_env().clock(); }
  Random& random() override { return system_env().random(); }

 private:
  Fault fault_;
  int at_;
  int count_ = 0;
  bool fired_ = false;
};

std::int64_t sql_int(const std::string& dir, const std::string& query) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open((dir + "/codex.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, query.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::int64_t value = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

void expect_consistent(const std::string& dir, const std::string& when) {
  SCOPED_TRACE(when);
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
  const std::int64_t packs = sql_int(dir, "SELECT IFNULL(MAX(id), 0) FROM packs");
  for (std::int64_t id = 1; id <= packs; ++id) {
    char name[32];
    std::snprintf(name, sizeof name, "/packs/pack-%06lld.dat", static_cast<long long>(id));
    std::error_code ec;
    const auto size = fs::file_size(dir + name, ec);
    const std::int64_t committed = sql_int(dir, "SELECT committed_size FROM packs WHERE id = " + std::to_string(id));
    // A pack the failed writer never wrote to may not exist yet.
    EXPECT_EQ(ec ? 0 : static_cast<std::int64_t>(size), committed) << "pack " << id;
  }
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM blocks b JOIN packs p ON b.pack = p.id "
                         "WHERE b.offset + b.size > p.committed_size"),
            0);
}

// The dataset's bytes as get gives them, or nullopt when it is not held.
std::optional<Bytes> get_bytes(const std::string& dir, const Cid& cid) {
  auto repo = Repository::open(dir, Repository::OpenMode::existing);
  EXPECT_TRUE(repo.ok());
  if (!repo.ok()) return std::nullopt;
  auto record = (*repo)->find_dataset(cid);
  if (!record.ok() || !record->has_value()) return std::nullopt;
  MemorySink out;
  auto got = get_dataset(**repo, *repository_source(**repo), cid, out, GetOptions{});
  EXPECT_TRUE(got.ok()) << got.error().message;
  return out.bytes;
}

struct Stream {
  Bytes data;
  Bytes car;
  Cid cid;
};

Stream make_stream(std::mt19937_64& rng, std::size_t size, std::uint32_t k, std::uint32_t m, const std::string& spill) {
  Stream s;
  s.data = random_bytes(rng, size);
  MemorySink plain;
  {
    MemorySource input(s.data);
    CarWriter writer(plain);
    ChunkOptions options;
    options.block_size = 4096;
    auto chunked = chunk_stream(input, &writer, options);
    EXPECT_TRUE(chunked.ok());
    s.cid = chunked->manifest_cid;
  }
  s.car = plain.bytes;
  if (k == 0) return s;
  MemorySink protected_car;
  MemorySource input(plain.bytes);
  CarWriter writer(protected_car);
  EncodeOptions options;
  options.k = k;
  options.m = m;
  options.spill_dir = spill;
  auto encoded = encode_stream(input, writer, options);
  EXPECT_TRUE(encoded.ok()) << encoded.error().message;
  s.car = protected_car.bytes;
  s.cid = encoded->manifest_cid;
  return s;
}

Status put(const std::string& dir, Env& env, const Bytes& car) {
  CODEX_TRY_ASSIGN(auto repo, Repository::open(dir, Repository::OpenMode::create, env));
  MemorySource input(car);
  CODEX_TRY(put_stream(*repo, input, PutOptions{}));
  return {};
}

TEST(FaultInjection, PutSurvivesEveryFaultAtEveryStep) {
  std::mt19937_64 rng(7);
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  const Stream before = make_stream(rng, 9 * 4096 + 5, 0, 0, tmp.path());
  ASSERT_TRUE(put(dir, system_env(), before.car).ok());
  for (Fault fault : {Fault::enospc, Fault::short_write, Fault::failed_sync}) {
    // A new dataset per kind of fault.
    const Stream next = make_stream(rng, 300 * 4096 + 17, 0, 0, tmp.path());
    int steps = 0;
    for (int at = 1; at < 500; ++at) {
      const std::string when = fmt::format("{} at step {}", fault_name(fault), at);
      FaultEnv env(fault, at);
      Status status = put(dir, env, next.car);
      expect_consistent(dir, when);
      EXPECT_EQ(get_bytes(dir, before.cid), before.data) << when;
      auto got = get_bytes(dir, next.cid);
      if (!env.fired()) {
        ASSERT_TRUE(status.ok()) << when << ": " << status.error().message;
        ASSERT_EQ(got, next.data) << when;
        steps = at - 1;
        break;
      }
      EXPECT_FALSE(status.ok()) << when << ": a failed step went unreported";
      if (!status.ok()) EXPECT_EQ(status.error().code, Errc::io) << when << ": " << status.error().message;
      EXPECT_FALSE(got.has_value()) << when << ": a failed put left its dataset";
    }
    EXPECT_GT(steps, 0) << fault_name(fault) << ": no step could fail";
    std::fprintf(stderr, "put: %s failed at each of %d steps\n", fault_name(fault), steps);
  }
}

TEST(FaultInjection, RepairSurvivesEveryFaultAtEveryStep) {
  std::mt19937_64 rng(8);
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  const Stream before = make_stream(rng, 5 * 4096 + 3, 0, 0, tmp.path());
  const Stream damaged = make_stream(rng, 40 * 4096 + 9, 3, 2, tmp.path());
  ASSERT_TRUE(put(dir, system_env(), before.car).ok());
  ASSERT_TRUE(put(dir, system_env(), damaged.car).ok());
  // Lose two blocks of the protected dataset (different EC groups).
  {
    auto repo = Repository::open(dir);
    ASSERT_TRUE(repo.ok());
    auto record = (*repo)->find_dataset(damaged.cid);
    ASSERT_TRUE(record.ok() && record->has_value());
    auto leaves = (*repo)->tree_leaves((*record)->manifest.tree);
    ASSERT_TRUE(leaves.ok());
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir + "/codex.db").c_str(), &db), SQLITE_OK);
    for (std::size_t index : {std::size_t{1}, std::size_t{6}}) {
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db, "DELETE FROM blocks WHERE digest = ?", -1, &stmt, nullptr), SQLITE_OK);
      sqlite3_bind_blob(stmt, 1, (*leaves)[index].data(), 32, SQLITE_TRANSIENT);
      ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
  }
  int at = 1;
  for (Fault fault : {Fault::enospc, Fault::short_write, Fault::failed_sync}) {
    for (at = 1; at < 200; ++at) {
      const std::string when = fmt::format("{} at step {}", fault_name(fault), at);
      FaultEnv env(fault, at);
      Result<RepairReport> report = make_error(Errc::failure, "not run");
      {
        auto repo = Repository::open(dir, Repository::OpenMode::existing, env);
        ASSERT_TRUE(repo.ok());
        auto record = (*repo)->find_dataset(damaged.cid);
        ASSERT_TRUE(record.ok() && record->has_value());
        auto source = repository_source(**repo);
        report = repair_dataset(**repo, *source, **record, RepairOptions{});
      }
      expect_consistent(dir, when);
      EXPECT_EQ(get_bytes(dir, before.cid), before.data) << when;
      EXPECT_EQ(get_bytes(dir, damaged.cid), damaged.data) << when;
      if (!env.fired()) {
        ASSERT_TRUE(report.ok()) << when << ": " << report.error().message;
        EXPECT_EQ(report->rebuilt.size(), 2u) << when;
        break;
      }
      EXPECT_FALSE(report.ok()) << when << ": a failed step went unreported";
    }
    EXPECT_GT(at, 1) << fault_name(fault) << ": no step could fail";
    std::fprintf(stderr, "repair: %s failed at each of %d steps\n", fault_name(fault), at - 1);
    // Damage it again for the next kind of fault.
    if (fault != Fault::failed_sync) {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open((dir + "/codex.db").c_str(), &db), SQLITE_OK);
      auto repo = Repository::open(dir);
      ASSERT_TRUE(repo.ok());
      auto record = (*repo)->find_dataset(damaged.cid);
      auto leaves = (*repo)->tree_leaves((**record).manifest.tree);
      ASSERT_TRUE(leaves.ok());
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db, "DELETE FROM blocks WHERE digest = ?", -1, &stmt, nullptr), SQLITE_OK);
      for (std::size_t index : {std::size_t{1}, std::size_t{6}}) {
        sqlite3_reset(stmt);
        sqlite3_bind_blob(stmt, 1, (*leaves)[index].data(), 32, SQLITE_TRANSIENT);
        ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
      }
      sqlite3_finalize(stmt);
      sqlite3_close(db);
    }
  }
}

// gc's view of consistency: the index intact; every indexed block inside
// its pack's committed size and inside the file; retired packs referenced by
// no block. A pack may be longer than committed (a tail the next writer
// cuts), never shorter.
void expect_gc_consistent(const std::string& dir, const std::string& when) {
  SCOPED_TRACE(when);
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM blocks b JOIN packs p ON b.pack = p.id "
                         "WHERE b.offset + b.size > p.committed_size OR p.name LIKE 'retired-%'"),
            0);
  const std::int64_t packs = sql_int(dir, "SELECT IFNULL(MAX(id), 0) FROM packs");
  for (std::int64_t id = 1; id <= packs; ++id) {
    if (sql_int(dir, "SELECT count(*) FROM packs WHERE name LIKE 'retired-%' AND id = " + std::to_string(id)) == 1)
      continue;
    char name[32];
    std::snprintf(name, sizeof name, "/packs/pack-%06lld.dat", static_cast<long long>(id));
    std::error_code ec;
    const auto size = fs::file_size(dir + name, ec);
    const std::int64_t committed = sql_int(dir, "SELECT committed_size FROM packs WHERE id = " + std::to_string(id));
    EXPECT_GE(ec ? 0 : static_cast<std::int64_t>(size), committed) << "pack " << id;
  }
}

TEST(FaultInjection, GcLosesNothingReferencedUnderEveryFaultAtEveryStep) {
  std::mt19937_64 rng(9);
  TempDir tmp;
  const std::string pristine = tmp.path() + "/pristine";
  // Two packs, each with a dataset kept and one removed, so that gc compacts
  // both: A and D go to pack 1; B and E to pack 2 (pack 1 held by an open
  // batch while they are put).
  const Stream a = make_stream(rng, 30 * 4096 + 1, 0, 0, tmp.path());
  const Stream b = make_stream(rng, 20 * 4096 + 2, 0, 0, tmp.path());
  const Stream d = make_stream(rng, 25 * 4096 + 3, 0, 0, tmp.path());
  const Stream e = make_stream(rng, 12 * 4096 + 4, 3, 2, tmp.path());
  ASSERT_TRUE(put(pristine, system_env(), a.car).ok());
  ASSERT_TRUE(put(pristine, system_env(), d.car).ok());
  {
    auto holder = Repository::open(pristine);
    ASSERT_TRUE(holder.ok());
    auto batch = (*holder)->begin_batch();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE(put(pristine, system_env(), b.car).ok());
    ASSERT_TRUE(put(pristine, system_env(), e.car).ok());
  }
  ASSERT_EQ(sql_int(pristine, "SELECT count(*) FROM packs"), 2);
  {
    auto admin = RepositoryAdmin::open(pristine);
    ASSERT_TRUE(admin.ok());
    ASSERT_TRUE((*admin)->remove_dataset(b.cid).ok());
    ASSERT_TRUE((*admin)->remove_dataset(d.cid).ok());
  }

  for (Fault fault : {Fault::enospc, Fault::short_write, Fault::failed_sync}) {
    int at = 1;
    for (; at < 100; ++at) {
      const std::string when = fmt::format("gc, {} at step {}", fault_name(fault), at);
      const std::string dir = tmp.path() + "/work";
      fs::remove_all(dir);
      fs::copy(pristine, dir, fs::copy_options::recursive);
      FaultEnv env(fault, at);
      Result<GcReport> report = make_error(Errc::failure, "not run");
      {
        auto admin = RepositoryAdmin::open(dir, false, env);
        ASSERT_TRUE(admin.ok()) << when << ": " << admin.error().message;
        report = (*admin)->gc();
      }
      expect_gc_consistent(dir, when);
      EXPECT_EQ(get_bytes(dir, a.cid), a.data) << when;
      EXPECT_EQ(get_bytes(dir, e.cid), e.data) << when;
      EXPECT_FALSE(get_bytes(dir, b.cid).has_value()) << when;
      if (!env.fired()) {
        ASSERT_TRUE(report.ok()) << when << ": " << report.error().message;
        EXPECT_EQ(report->packs_compacted, 2u) << when;
        break;
      }
      // A failed removal of a retired pack is left for the next gc; every
      // other failed step is reported.
      if (report.ok()) EXPECT_EQ(fault, Fault::enospc) << when << ": a failed step went unreported";
      // The next gc, without faults, finishes: nothing dead is left, and the
      // kept datasets are intact.
      {
        auto admin = RepositoryAdmin::open(dir);
        ASSERT_TRUE(admin.ok());
        auto again = (*admin)->gc();
        ASSERT_TRUE(again.ok()) << when << ": " << again.error().message;
        auto stats = (*admin)->stats();
        ASSERT_TRUE(stats.ok());
        EXPECT_EQ(stats->dead_bytes, 0u) << when;
      }
      expect_gc_consistent(dir, when + ", then gc");
      EXPECT_EQ(get_bytes(dir, a.cid), a.data) << when << ", then gc";
      EXPECT_EQ(get_bytes(dir, e.cid), e.data) << when << ", then gc";
      for (const auto& entry : fs::directory_iterator(dir + "/packs"))
        EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM packs WHERE name = '" + entry.path().filename().string() + "'"), 1)
            << when << ": " << entry.path() << " left behind";
    }
    EXPECT_GT(at, 1) << fault_name(fault) << ": no step could fail";
    std::fprintf(stderr, "gc: %s failed at each of %d steps\n", fault_name(fault), at - 1);
  }
}

}  // namespace
}  // namespace codex
