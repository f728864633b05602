// The repository's promises (docs/repository.md): a batch is all or nothing,
// a dropped or crashed batch leaves nothing visible and its pack tail is cut
// by the next writer, reads tell a missing block from a corrupt one, a
// dataset appears with its blocks in one commit, held slots merge on re-put,
// and concurrent writers (one Repository object or two) use different packs.
#include "codex/repository.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <latch>
#include <random>
#include <set>
#include <thread>

#include "codex/car.hpp"
#include "codex/dataset.hpp"
#include "codex/encode.hpp"
#include "codex/io.hpp"

namespace codex {
namespace {

using testing::random_bytes;
using testing::TempDir;

namespace fs = std::filesystem;

std::unique_ptr<Repository> open_repo(const std::string& dir) {
  auto repo = Repository::open(dir);
  EXPECT_TRUE(repo.ok()) << repo.error().message;
  return repo.ok() ? std::move(*repo) : nullptr;
}

// One integer from the repository's index, through a connection of our own.
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

std::string sql_text(const std::string& dir, const std::string& query) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open((dir + "/codex.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, query.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::string value;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
    value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

std::string pack_path(const std::string& dir, std::int64_t id) {
  char name[32];
  std::snprintf(name, sizeof name, "pack-%06lld.dat", static_cast<long long>(id));
  return dir + "/packs/" + name;
}

std::uint64_t file_size(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

std::int64_t committed_size(const std::string& dir, std::int64_t pack) {
  return sql_int(dir, "SELECT committed_size FROM packs WHERE id = " + std::to_string(pack));
}

// A small plain dataset: its blocks, tree leaves and record, ready for a batch.
struct Dataset {
  std::vector<Bytes> blocks;
  std::vector<Digest> leaves;
  DatasetRecord record;
};

Dataset make_dataset(std::mt19937_64& rng, std::size_t blocks, std::size_t block_size) {
  Dataset d;
  Bytes all;
  for (std::size_t i = 0; i < blocks; ++i) {
    d.blocks.push_back(random_bytes(rng, block_size));
    d.leaves.push_back(sha256(d.blocks.back()));
    all.insert(all.end(), d.blocks.back().begin(), d.blocks.back().end());
  }
  MemorySource input(all);
  ChunkOptions options;
  options.block_size = block_size;
  auto chunked = chunk_stream(input, nullptr, options);
  EXPECT_TRUE(chunked.ok()) << chunked.error().message;
  auto bytes = encode_manifest(chunked->manifest, ManifestFormat::current);
  EXPECT_TRUE(bytes.ok());
  d.record.manifest_cid = manifest_cid(*bytes);
  EXPECT_EQ(d.record.manifest_cid, chunked->manifest_cid);
  d.record.manifest_bytes = *bytes;
  d.record.manifest = chunked->manifest;
  return d;
}

void add_all(Repository::Batch& batch, const Dataset& d) {
  for (std::size_t i = 0; i < d.blocks.size(); ++i) ASSERT_TRUE(batch.add_block(d.leaves[i], d.blocks[i]).ok());
  batch.add_tree(d.record.manifest.tree, d.leaves);
  batch.add_dataset(d.record);
}

bool has_block(Repository& repo, const Digest& digest) {
  auto location = repo.locate_block(digest);
  EXPECT_TRUE(location.ok());
  return location.ok() && location->has_value();
}

std::int64_t pack_of(Repository& repo, const Digest& digest) {
  auto location = repo.locate_block(digest);
  EXPECT_TRUE(location.ok() && location->has_value());
  return location.ok() && location->has_value() ? (*location)->pack : -1;
}

void expect_consistent(const std::string& dir) {
  EXPECT_EQ(sql_text(dir, "PRAGMA integrity_check"), "ok");
  // Every pack file is exactly as long as the index says (no uncommitted tail
  // survives a writer that finished), and no block points past it.
  for (std::int64_t id = 1; id <= sql_int(dir, "SELECT IFNULL(MAX(id), 0) FROM packs"); ++id) {
    const std::int64_t committed = committed_size(dir, id);
    EXPECT_EQ(static_cast<std::int64_t>(file_size(pack_path(dir, id))), committed) << "pack " << id;
  }
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM blocks b JOIN packs p ON b.pack = p.id "
                         "WHERE b.offset + b.size > p.committed_size"),
            0);
}

TEST(RepositoryTest, CommittedBatchIsVisibleAndReadable) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(1);
  auto repo = open_repo(dir);
  Dataset d = make_dataset(rng, 5, 4096);
  auto batch = repo->begin_batch();
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  add_all(**batch, d);
  EXPECT_EQ((*batch)->blocks_written(), 5u);
  EXPECT_EQ((*batch)->bytes_written(), 5u * 4096);
  // Nothing is visible before commit.
  EXPECT_FALSE(has_block(*repo, d.leaves[0]));
  auto before = repo->find_dataset(d.record.manifest_cid);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value()) << "dataset visible before commit";
  ASSERT_TRUE((*batch)->commit().ok());
  batch->reset();

  auto found = repo->find_dataset(d.record.manifest_cid);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->manifest_bytes, d.record.manifest_bytes);
  EXPECT_FALSE((*found)->held_slots.has_value());
  auto leaves = repo->tree_leaves(d.record.manifest.tree);
  ASSERT_TRUE(leaves.ok());
  EXPECT_EQ(*leaves, d.leaves);
  for (std::size_t i = 0; i < d.blocks.size(); ++i) {
    Bytes out;
    ASSERT_TRUE(repo->read_block(d.leaves[i], out).ok());
    EXPECT_EQ(out, d.blocks[i]);
  }
  EXPECT_EQ(committed_size(dir, 1), 5 * 4096);
  expect_consistent(dir);

  // Storing the same blocks again writes nothing.
  auto again = repo->begin_batch();
  ASSERT_TRUE(again.ok());
  add_all(**again, d);
  EXPECT_EQ((*again)->blocks_written(), 0u);
  ASSERT_TRUE((*again)->commit().ok());
  again->reset();
  EXPECT_EQ(committed_size(dir, 1), 5 * 4096);
  expect_consistent(dir);

  // Another Repository object sees it (it is on disk, not in this object).
  auto other = open_repo(dir);
  auto seen = other->datasets();
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ((*seen)[0].manifest_cid, d.record.manifest_cid);
}

TEST(RepositoryTest, DroppedBatchLeavesNothingAndCutsThePack) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(2);
  auto repo = open_repo(dir);
  Dataset kept = make_dataset(rng, 3, 4096);
  {
    auto batch = repo->begin_batch();
    ASSERT_TRUE(batch.ok());
    add_all(**batch, kept);
    ASSERT_TRUE((*batch)->commit().ok());
  }
  const std::int64_t committed = committed_size(dir, 1);
  ASSERT_EQ(committed, 3 * 4096);

  // More than the 4 MiB write buffer, so bytes really reach the pack.
  Dataset dropped = make_dataset(rng, 80, 65536);
  {
    auto batch = repo->begin_batch();
    ASSERT_TRUE(batch.ok());
    add_all(**batch, dropped);
    EXPECT_GT(file_size(pack_path(dir, 1)), static_cast<std::uint64_t>(committed))
        << "the batch wrote nothing to its pack before commit (test needs bytes on disk)";
  }  // dropped without commit
  EXPECT_EQ(file_size(pack_path(dir, 1)), static_cast<std::uint64_t>(committed)) << "dropped batch's tail not cut";
  EXPECT_EQ(committed_size(dir, 1), committed);
  for (const Digest& leaf : dropped.leaves) EXPECT_FALSE(has_block(*repo, leaf));
  auto found = repo->find_dataset(dropped.record.manifest_cid);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_FALSE(repo->tree_leaves(dropped.record.manifest.tree).ok());
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM blocks"), 3);
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM datasets"), 1);
  // The kept dataset is untouched.
  for (std::size_t i = 0; i < kept.blocks.size(); ++i) {
    Bytes out;
    ASSERT_TRUE(repo->read_block(kept.leaves[i], out).ok());
    EXPECT_EQ(out, kept.blocks[i]);
  }
  expect_consistent(dir);
}

TEST(RepositoryTest, CommitWithKeepDropsTheOthersBytes) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(3);
  auto repo = open_repo(dir);
  Dataset d = make_dataset(rng, 6, 4096);
  auto batch = repo->begin_batch();
  ASSERT_TRUE(batch.ok());
  add_all(**batch, d);
  std::set<Digest> keep = {d.leaves[1], d.leaves[4]};
  ASSERT_TRUE((*batch)->commit([&](const Digest& digest) { return keep.count(digest) != 0; }).ok());
  batch->reset();
  for (std::size_t i = 0; i < d.leaves.size(); ++i) {
    Bytes out;
    Status read = repo->read_block(d.leaves[i], out);
    if (keep.count(d.leaves[i])) {
      ASSERT_TRUE(read.ok()) << read.error().message;
      EXPECT_EQ(out, d.blocks[i]);
    } else {
      ASSERT_FALSE(read.ok());
      EXPECT_EQ(read.error().code, Errc::not_found);
    }
  }
  EXPECT_EQ(committed_size(dir, 1), 2 * 4096);
  expect_consistent(dir);
}

// A writer killed before commit (no destructor runs): the index mentions none
// of its bytes, and the next batch on that pack cuts the tail and appends
// after the committed size.
TEST(RepositoryTest, CrashedWriterLeavesRepositoryConsistent) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(4);
  Dataset first = make_dataset(rng, 2, 4096);
  {
    auto repo = open_repo(dir);
    auto batch = repo->begin_batch();
    ASSERT_TRUE(batch.ok());
    add_all(**batch, first);
    ASSERT_TRUE((*batch)->commit().ok());
  }
  const std::int64_t committed = committed_size(dir, 1);
  Dataset crashed = make_dataset(rng, 80, 65536);  // > 4 MiB: reaches the pack
  std::fflush(nullptr);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto opened = Repository::open(dir);
    if (!opened.ok()) ::_exit(10);
    auto batch = (*opened)->begin_batch();
    if (!batch.ok()) ::_exit(11);
    for (std::size_t i = 0; i < crashed.blocks.size(); ++i)
      if (!(*batch)->add_block(crashed.leaves[i], crashed.blocks[i]).ok()) ::_exit(12);
    (*batch)->add_tree(crashed.record.manifest.tree, crashed.leaves);
    (*batch)->add_dataset(crashed.record);
    ::_exit(0);  // "killed": no commit, no destructor
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the crashing writer failed before its crash";
  ASSERT_GT(file_size(pack_path(dir, 1)), static_cast<std::uint64_t>(committed))
      << "the crashed writer left no tail (the test needs one)";

  auto repo = open_repo(dir);
  EXPECT_EQ(sql_text(dir, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(committed_size(dir, 1), committed);
  for (const Digest& leaf : crashed.leaves) EXPECT_FALSE(has_block(*repo, leaf));
  auto found = repo->find_dataset(crashed.record.manifest_cid);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  auto all = repo->datasets();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  for (std::size_t i = 0; i < first.blocks.size(); ++i) {
    Bytes out;
    ASSERT_TRUE(repo->read_block(first.leaves[i], out).ok());
    EXPECT_EQ(out, first.blocks[i]);
  }

  // The next batch takes the same pack, cuts the tail and appends at the committed size.
  Dataset next = make_dataset(rng, 3, 4096);
  auto batch = repo->begin_batch();
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  EXPECT_EQ(file_size(pack_path(dir, 1)), static_cast<std::uint64_t>(committed)) << "tail not cut by the next writer";
  add_all(**batch, next);
  ASSERT_TRUE((*batch)->commit().ok());
  batch->reset();
  EXPECT_EQ(pack_of(*repo, next.leaves[0]), 1);
  auto location = repo->locate_block(next.leaves[0]);
  ASSERT_TRUE(location.ok() && location->has_value());
  EXPECT_EQ((*location)->offset, static_cast<std::uint64_t>(committed));
  EXPECT_EQ(committed_size(dir, 1), committed + 3 * 4096);
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM packs"), 1);
  for (std::size_t i = 0; i < next.blocks.size(); ++i) {
    Bytes out;
    ASSERT_TRUE(repo->read_block(next.leaves[i], out).ok());
    EXPECT_EQ(out, next.blocks[i]);
  }
  expect_consistent(dir);
}

TEST(RepositoryTest, ReadBlockTellsMissingFromCorrupt) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(5);
  auto repo = open_repo(dir);
  Dataset d = make_dataset(rng, 4, 4096);
  {
    auto batch = repo->begin_batch();
    ASSERT_TRUE(batch.ok());
    add_all(**batch, d);
    ASSERT_TRUE((*batch)->commit().ok());
  }
  Bytes out;
  // The empty block is answered without disk.
  out = {1, 2, 3};
  ASSERT_TRUE(repo->read_block(sha256(ByteView()), out).ok());
  EXPECT_TRUE(out.empty());
  // Never stored: not found.
  const Digest unknown = sha256(as_bytes("not stored"));
  Status read = repo->read_block(unknown, out);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, Errc::not_found) << read.error().message;
  // Bytes changed in the pack: corrupt, and the message says so.
  auto location = repo->locate_block(d.leaves[1]);
  ASSERT_TRUE(location.ok() && location->has_value());
  {
    int fd = ::open(pack_path(dir, (*location)->pack).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    std::uint8_t byte = 0;
    ASSERT_EQ(::pread(fd, &byte, 1, static_cast<off_t>((*location)->offset + 100)), 1);
    byte ^= 0x40;
    ASSERT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>((*location)->offset + 100)), 1);
    ::close(fd);
  }
  read = repo->read_block(d.leaves[1], out);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, Errc::corrupt) << read.error().message;
  EXPECT_NE(read.error().message.find("corrupt"), std::string::npos) << read.error().message;
  // The others are still fine.
  ASSERT_TRUE(repo->read_block(d.leaves[0], out).ok());
  EXPECT_EQ(out, d.blocks[0]);
  // Row deleted: not found (missing), not corrupt.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/codex.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "DELETE FROM blocks WHERE digest = ?", -1, &stmt, nullptr), SQLITE_OK);
  sqlite3_bind_blob(stmt, 1, d.leaves[2].data(), 32, SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  read = repo->read_block(d.leaves[2], out);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, Errc::not_found) << read.error().message;

  // A pack cut short: the blocks past its end are corrupt, not missing.
  {
    auto fresh = open_repo(dir);  // no cached descriptor
    ASSERT_EQ(::truncate(pack_path(dir, 1).c_str(), 3 * 4096 + 10), 0);
    read = fresh->read_block(d.leaves[3], out);
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().code, Errc::corrupt) << read.error().message;
  }
  // A pack file gone entirely: its blocks are corrupt (docs/repository.md), not missing.
  {
    ASSERT_EQ(::unlink(pack_path(dir, 1).c_str()), 0);
    auto fresh = open_repo(dir);
    read = fresh->read_block(d.leaves[0], out);
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().code, Errc::corrupt) << read.error().message;
  }
}

TEST(RepositoryTest, DatasetNeedsItsTreeAndIsAllOrNothing) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(6);
  auto repo = open_repo(dir);
  Dataset d = make_dataset(rng, 3, 4096);
  {
    // A dataset whose tree is not there is refused at commit, and nothing of the batch lands.
    auto batch = repo->begin_batch();
    ASSERT_TRUE(batch.ok());
    for (std::size_t i = 0; i < d.blocks.size(); ++i) ASSERT_TRUE((*batch)->add_block(d.leaves[i], d.blocks[i]).ok());
    (*batch)->add_dataset(d.record);
    Status committed = (*batch)->commit();
    EXPECT_FALSE(committed.ok()) << "dataset committed without its tree";
  }
  auto found = repo->find_dataset(d.record.manifest_cid);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_FALSE(has_block(*repo, d.leaves[0])) << "a failed commit left blocks indexed";
  expect_consistent(dir);
}

// Protected dataset streams for the held-slot tests.
struct Protected {
  Bytes car;
  Cid cid;
  SteppedLayout layout;
  std::vector<Digest> leaves;
};

Protected make_protected(std::mt19937_64& rng, std::uint32_t k, std::uint32_t m, std::size_t blocks,
                         const std::string& spill) {
  Protected p;
  MemorySink plain;
  {
    MemorySource input(random_bytes(rng, blocks * 4096));
    CarWriter writer(plain);
    ChunkOptions options;
    options.block_size = 4096;
    EXPECT_TRUE(chunk_stream(input, &writer, options).ok());
  }
  MemorySink out;
  MemorySource input(plain.bytes);
  CarWriter writer(out);
  EncodeOptions options;
  options.k = k;
  options.m = m;
  options.spill_dir = spill;
  auto encoded = encode_stream(input, writer, options);
  EXPECT_TRUE(encoded.ok()) << encoded.error().message;
  p.car = std::move(out.bytes);
  p.cid = encoded->manifest_cid;
  p.layout = encoded->layout;
  return p;
}

Result<PutResult> put(Repository& repo, const Bytes& car, std::optional<std::uint32_t> slots) {
  MemorySource input(car);
  PutOptions options;
  options.slots = slots;
  return put_stream(repo, input, options);
}

TEST(RepositoryTest, HeldSlotsMergeOnReput) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(7);
  auto repo = open_repo(dir);
  Protected p = make_protected(rng, 4, 2, 8, tmp.path());
  auto leaves_of = [&]() {
    auto leaves = repo->tree_leaves(repo->find_dataset(p.cid)->value().manifest.tree);
    EXPECT_TRUE(leaves.ok());
    return *leaves;
  };
  auto held = [&]() -> std::optional<std::uint32_t> {
    auto found = repo->find_dataset(p.cid);
    EXPECT_TRUE(found.ok() && found->has_value());
    return (*found)->held_slots;
  };
  auto stored_slots = [&]() {
    std::set<std::uint32_t> slots;
    auto leaves = leaves_of();
    for (std::uint64_t i = 0; i < leaves.size(); ++i)
      if (!p.layout.is_padding(i) && has_block(*repo, leaves[i])) slots.insert(p.layout.slot_of(i));
    return slots;
  };

  auto first = put(*repo, p.car, 0b11);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(held(), std::optional<std::uint32_t>(0b11));
  EXPECT_EQ(stored_slots(), (std::set<std::uint32_t>{0, 1}));

  auto second = put(*repo, p.car, 0b100);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(held(), std::optional<std::uint32_t>(0b111)) << "held slots not merged";
  EXPECT_EQ(stored_slots(), (std::set<std::uint32_t>{0, 1, 2}));

  auto subset_again = put(*repo, p.car, 0b1);  // a subset of what is held: nothing changes
  ASSERT_TRUE(subset_again.ok());
  EXPECT_EQ(held(), std::optional<std::uint32_t>(0b111));

  auto all = put(*repo, p.car, std::nullopt);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(held(), std::nullopt) << "a full put must leave held_slots NULL (every block)";
  EXPECT_EQ(stored_slots(), (std::set<std::uint32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(sql_int(dir, "SELECT held_slots IS NULL FROM datasets") == 1);

  // Slots after all: still all.
  auto after_all = put(*repo, p.car, 0b10);
  ASSERT_TRUE(after_all.ok());
  EXPECT_EQ(held(), std::nullopt);
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM datasets"), 1);
  expect_consistent(dir);

  // Naming every slot with --slots is the same as no --slots.
  TempDir tmp2;
  auto other = open_repo(tmp2.path() + "/repo");
  ASSERT_TRUE(put(*other, p.car, 0b111111).ok());
  auto found = other->find_dataset(p.cid);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_FALSE((*found)->held_slots.has_value());
  // Pieces that add up to every slot hold every slot.
  TempDir tmp3;
  auto pieces = open_repo(tmp3.path() + "/repo");
  ASSERT_TRUE(put(*pieces, p.car, 0b000111).ok());
  ASSERT_TRUE(put(*pieces, p.car, 0b111000).ok());
  auto merged = pieces->find_dataset(p.cid);
  ASSERT_TRUE(merged.ok() && merged->has_value());
  for (std::uint32_t s = 0; s < 6; ++s) EXPECT_TRUE((*merged)->holds_slot(s)) << "slot " << s;
}

// Two batches open at once on one Repository object: each locks its own pack.
TEST(RepositoryTest, TwoBatchesOnOneRepositoryUseTwoPacks) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(8);
  auto repo = open_repo(dir);
  Dataset a = make_dataset(rng, 4, 4096), b = make_dataset(rng, 5, 4096);
  auto batch_a = repo->begin_batch();
  ASSERT_TRUE(batch_a.ok()) << batch_a.error().message;
  auto batch_b = repo->begin_batch();
  ASSERT_TRUE(batch_b.ok()) << "a second batch while the first is open: " << batch_b.error().message;
  // Interleaved writes.
  for (std::size_t i = 0; i < 5; ++i) {
    if (i < a.blocks.size()) {
      ASSERT_TRUE((*batch_a)->add_block(a.leaves[i], a.blocks[i]).ok());
    }
    ASSERT_TRUE((*batch_b)->add_block(b.leaves[i], b.blocks[i]).ok());
  }
  (*batch_a)->add_tree(a.record.manifest.tree, a.leaves);
  (*batch_a)->add_dataset(a.record);
  (*batch_b)->add_tree(b.record.manifest.tree, b.leaves);
  (*batch_b)->add_dataset(b.record);
  ASSERT_TRUE((*batch_b)->commit().ok());
  ASSERT_TRUE((*batch_a)->commit().ok());
  batch_a->reset();
  batch_b->reset();
  const std::int64_t pack_a = pack_of(*repo, a.leaves[0]);
  const std::int64_t pack_b = pack_of(*repo, b.leaves[0]);
  EXPECT_NE(pack_a, pack_b);
  for (const Digest& leaf : a.leaves) EXPECT_EQ(pack_of(*repo, leaf), pack_a);
  for (const Digest& leaf : b.leaves) EXPECT_EQ(pack_of(*repo, leaf), pack_b);
  for (std::size_t i = 0; i < b.blocks.size(); ++i) {
    Bytes out;
    ASSERT_TRUE(repo->read_block(b.leaves[i], out).ok());
    EXPECT_EQ(out, b.blocks[i]);
  }
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM datasets"), 2);
  expect_consistent(dir);
  // With both done, the next batch takes the first pack again.
  Dataset c = make_dataset(rng, 1, 4096);
  auto batch_c = repo->begin_batch();
  ASSERT_TRUE(batch_c.ok());
  add_all(**batch_c, c);
  ASSERT_TRUE((*batch_c)->commit().ok());
  batch_c->reset();
  EXPECT_EQ(pack_of(*repo, c.leaves[0]), std::min(pack_a, pack_b));
  expect_consistent(dir);
}

// Two Repository objects (as two processes would be), writing at the same time
// from two threads: both datasets land whole, in two packs.
TEST(RepositoryTest, TwoRepositoryObjectsWriteConcurrently) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(9);
  auto first = open_repo(dir);
  auto second = open_repo(dir);
  Dataset a = make_dataset(rng, 40, 4096), b = make_dataset(rng, 40, 4096);
  // Both batches are open before either commits, so they cannot share a pack.
  auto batch_a = first->begin_batch();
  ASSERT_TRUE(batch_a.ok()) << batch_a.error().message;
  auto batch_b = second->begin_batch();
  ASSERT_TRUE(batch_b.ok()) << "second repository object could not open a batch: " << batch_b.error().message;
  Status status_a, status_b;
  std::thread ta([&] {
    for (std::size_t i = 0; i < a.blocks.size() && status_a.ok(); ++i)
      status_a = (*batch_a)->add_block(a.leaves[i], a.blocks[i]);
    (*batch_a)->add_tree(a.record.manifest.tree, a.leaves);
    (*batch_a)->add_dataset(a.record);
    if (status_a.ok()) status_a = (*batch_a)->commit();
  });
  std::thread tb([&] {
    for (std::size_t i = 0; i < b.blocks.size() && status_b.ok(); ++i)
      status_b = (*batch_b)->add_block(b.leaves[i], b.blocks[i]);
    (*batch_b)->add_tree(b.record.manifest.tree, b.leaves);
    (*batch_b)->add_dataset(b.record);
    if (status_b.ok()) status_b = (*batch_b)->commit();
  });
  ta.join();
  tb.join();
  ASSERT_TRUE(status_a.ok()) << status_a.error().message;
  ASSERT_TRUE(status_b.ok()) << status_b.error().message;
  batch_a->reset();
  batch_b->reset();
  EXPECT_NE(pack_of(*first, a.leaves[0]), pack_of(*first, b.leaves[0]));
  EXPECT_EQ(sql_int(dir, "SELECT count(*) FROM packs"), 2);
  auto third = open_repo(dir);
  auto all = third->datasets();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  for (const Dataset* d : {&a, &b})
    for (std::size_t i = 0; i < d->blocks.size(); ++i) {
      Bytes out;
      ASSERT_TRUE(third->read_block(d->leaves[i], out).ok());
      EXPECT_EQ(out, d->blocks[i]);
    }
  expect_consistent(dir);
}

// Many concurrent put_stream calls through separate Repository objects (the
// codex-put processes of a busy node): all land, the index stays sound.
TEST(RepositoryTest, ConcurrentPutsAllLand) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(10);
  constexpr int kWriters = 4;
  std::vector<Bytes> cars(kWriters);
  std::vector<Cid> cids(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    MemorySink sink;
    MemorySource input(random_bytes(rng, 20 * 4096 + w));
    CarWriter writer(sink);
    ChunkOptions options;
    options.block_size = 4096;
    auto chunked = chunk_stream(input, &writer, options);
    ASSERT_TRUE(chunked.ok());
    cars[w] = std::move(sink.bytes);
    cids[w] = chunked->manifest_cid;
  }
  {
    // A pack with committed bytes already exists, as on any node in use.
    auto repo = open_repo(dir);
    Dataset first = make_dataset(rng, 2, 4096);
    auto batch = repo->begin_batch();
    ASSERT_TRUE(batch.ok());
    add_all(**batch, first);
    ASSERT_TRUE((*batch)->commit().ok());
  }
  std::vector<Status> status(kWriters);
  std::vector<std::thread> threads;
  std::latch start(kWriters);
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      auto repo = Repository::open(dir);
      start.arrive_and_wait();
      if (!repo.ok()) {
        status[w] = std::move(repo).error();
        return;
      }
      MemorySource input(cars[w]);
      auto put = put_stream(**repo, input, PutOptions{});
      if (!put.ok()) status[w] = std::move(put).error();
    });
  for (auto& t : threads) t.join();
  for (int w = 0; w < kWriters; ++w) EXPECT_TRUE(status[w].ok()) << "writer " << w << ": " << status[w].error().message;
  auto repo = open_repo(dir);
  for (int w = 0; w < kWriters; ++w) {
    MemorySink sink;
    auto got = get_dataset(*repo, *repository_source(*repo), cids[w], sink, GetOptions{});
    ASSERT_TRUE(got.ok()) << got.error().message;
  }
  expect_consistent(dir);
}

}  // namespace
}  // namespace codex


namespace codex {
namespace {

// A community member hands a slot over: drop_slot takes it out of held_slots
// (from "every slot" too), and the record goes with the last slot.
TEST(RepositoryTest, DropSlotLeavesTheOthersHeld) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  std::mt19937_64 rng(11);
  auto repo = open_repo(dir);
  Protected p = make_protected(rng, 4, 2, 8, tmp.path());
  auto held = [&]() -> std::optional<std::uint32_t> {
    auto found = repo->find_dataset(p.cid);
    EXPECT_TRUE(found.ok() && found->has_value());
    return (*found)->held_slots;
  };
  ASSERT_TRUE(put(*repo, p.car, std::nullopt).ok());
  ASSERT_TRUE(repo->drop_slot(p.cid, 2).ok());
  EXPECT_EQ(held(), std::optional<std::uint32_t>(0b111011)) << "dropping from every slot keeps the other five";
  ASSERT_TRUE(repo->drop_slot(p.cid, 2).ok()) << "dropping a slot not held is harmless";
  EXPECT_EQ(held(), std::optional<std::uint32_t>(0b111011));
  for (std::uint32_t s : {0u, 1u, 3u, 4u}) ASSERT_TRUE(repo->drop_slot(p.cid, s).ok());
  EXPECT_EQ(held(), std::optional<std::uint32_t>(0b100000));
  ASSERT_TRUE(repo->drop_slot(p.cid, 5).ok());
  auto gone = repo->find_dataset(p.cid);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value()) << "no slot held: the dataset's record goes";
  auto missing = repo->drop_slot(p.cid, 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  expect_consistent(dir);
}

}  // namespace
}  // namespace codex
