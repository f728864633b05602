// get_dataset into an output written in order (a pipe; here a MemorySink)
// with whole slots lost: every EC group is decoded once, the rebuilt blocks
// of later batches go through the spill file (written behind by a thread of
// its own, read back on every core) and the rebuilt blocks' buffers are
// reused from round to round. The bytes must be the original's, each lost
// block rebuilt exactly once, and a spill that cannot be written must fail
// the get with only correct bytes written.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include "protected_car.hpp"
#include "test_support.hpp"

#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "codex/block_source.hpp"
#include "codex/car.hpp"
#include "codex/dataset.hpp"
#include "codex/encode.hpp"
#include "codex/io.hpp"
#include "codex/layout.hpp"
#include "codex/repository.hpp"

namespace codex {
namespace {

using testing::random_bytes;
using testing::TempDir;

constexpr std::uint64_t kBlockSize = 4096;

// A repository holding one K=4 M=2 dataset of `blocks` data blocks.
struct Stored {
  Bytes original;
  std::unique_ptr<Repository> repo;
  DatasetRecord record;
  std::vector<Digest> leaves;
  SteppedLayout layout;
};

Stored store(const std::string& dir, std::uint64_t blocks, std::uint64_t seed) {
  Stored out;
  std::mt19937_64 rng(seed);
  out.original = random_bytes(rng, (blocks - 1) * kBlockSize + 1 + rng() % kBlockSize);
  EncodeOptions options;
  options.k = 4;
  options.m = 2;
  options.spill_dir = dir;
  const Bytes protected_car = testing::make_protected_car(out.original, kBlockSize, options).car;
  auto opened = Repository::open(dir + "/repo");
  EXPECT_TRUE(opened.ok()) << opened.error().message;
  out.repo = std::move(*opened);
  MemorySource input(protected_car);
  auto put = put_stream(*out.repo, input, PutOptions{});
  EXPECT_TRUE(put.ok()) << put.error().message;
  auto record = find_dataset(*out.repo, put->manifest_cid);
  EXPECT_TRUE(record.ok());
  out.record = *record;
  auto leaves = out.repo->tree_leaves(out.record.manifest.tree);
  EXPECT_TRUE(leaves.ok());
  out.leaves = *leaves;
  out.layout = *SteppedLayout::of(out.record.manifest);
  return out;
}

// Deletes the index rows of every block of the given slots; returns the data
// blocks lost, in index order.
std::vector<std::uint64_t> lose_slots(const std::string& dir, const Stored& stored, std::vector<std::uint32_t> slots) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open((dir + "/repo/codex.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  std::vector<std::uint64_t> lost;
  for (std::uint32_t slot : slots)
    for (std::uint64_t index = stored.layout.slot_begin(slot); index < stored.layout.slot_end(slot); ++index) {
      if (stored.layout.is_padding(index)) continue;
      sqlite3_stmt* stmt = nullptr;
      EXPECT_EQ(sqlite3_prepare_v2(db, "DELETE FROM blocks WHERE digest = ?", -1, &stmt, nullptr), SQLITE_OK);
      sqlite3_bind_blob(stmt, 1, stored.leaves[index].data(), 32, SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
      sqlite3_finalize(stmt);
      if (index < stored.layout.blocks) lost.push_back(index);
    }
  sqlite3_close(db);
  return lost;
}

// 160 data blocks: 40 groups, so a group's row 1 is 40 blocks after its row
// 0, often in the very next batch of 64 (the spill is read right after it is
// written). 1000: 250 groups, the rebuilt row 1 of a group waits four batches.
TEST(GetInOrder, TwoDataSlotsLostGivesTheOriginalRebuildingEachBlockOnce) {
  for (std::uint64_t blocks : {160u, 1000u}) {
    SCOPED_TRACE(fmt::format("{} blocks", blocks));
    TempDir dir;
    Stored stored = store(dir.path(), blocks, blocks);
    ASSERT_EQ(stored.layout.blocks, blocks);
    const std::vector<std::uint64_t> lost = lose_slots(dir.path(), stored, {0, 1});
    ASSERT_EQ(lost.size(), 2 * stored.layout.steps);
    MemorySink sink;  // no write_at: blocks go in order
    ASSERT_FALSE(sink.can_write_at());
    auto source = repository_source(*stored.repo);
    auto got = get_dataset(*stored.repo, *source, stored.record.manifest_cid, sink, GetOptions{});
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_TRUE(sink.bytes == stored.original) << "get gave other bytes";
    std::vector<std::uint64_t> rebuilt;
    for (const RebuiltBlock& block : got->rebuilt) {
      rebuilt.push_back(block.index);
      EXPECT_EQ(block.reason, "missing");
    }
    std::sort(rebuilt.begin(), rebuilt.end());
    EXPECT_EQ(rebuilt, lost);
  }
}

// Into a pipe (the spilled blocks are spliced into it from the spill file).
TEST(GetInOrder, IntoAPipe) {
  TempDir dir;
  Stored stored = store(dir.path(), 1000, 5);
  lose_slots(dir.path(), stored, {0, 1});
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  Bytes got;
  std::thread reader([&] {
    std::uint8_t buffer[65536];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) got.insert(got.end(), buffer, buffer + n);
  });
  {
    auto sink = fd_sink(fds[1], "pipe");
    ASSERT_FALSE(sink->can_write_at());
    auto source = repository_source(*stored.repo);
    auto result = get_dataset(*stored.repo, *source, stored.record.manifest_cid, *sink, GetOptions{});
    EXPECT_TRUE(result.ok()) << result.error().message;
  }
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  EXPECT_TRUE(got == stored.original) << "get into a pipe gave other bytes";
}

// Losing slots 0 and 3: the rebuilt blocks of slot 3 wait the longest.
TEST(GetInOrder, FirstAndLastDataSlotsLost) {
  TempDir dir;
  Stored stored = store(dir.path(), 700, 9);
  const std::vector<std::uint64_t> lost = lose_slots(dir.path(), stored, {0, 3});
  MemorySink sink;
  auto source = repository_source(*stored.repo);
  auto got = get_dataset(*stored.repo, *source, stored.record.manifest_cid, sink, GetOptions{});
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(sink.bytes == stored.original);
  EXPECT_EQ(got->rebuilt.size(), lost.size());
}

// A spill directory that cannot be made: the get fails, naming it, and
// what it wrote before is the original's prefix.
TEST(GetInOrder, ASpillThatCannotBeWrittenFailsWithACorrectPrefix) {
  TempDir dir;
  Stored stored = store(dir.path(), 1000, 3);
  lose_slots(dir.path(), stored, {1, 2});  // the first batches are intact, the spill starts later
  MemorySink sink;
  auto source = repository_source(*stored.repo);
  const std::string file = dir.path() + "/a-file";
  { std::ofstream(file) << "not a directory"; }
  const std::string nowhere = file + "/spill";
  auto got = get_dataset(stored.record, stored.leaves, *source, nowhere, sink, GetOptions{});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find(nowhere), std::string::npos) << got.error().message;
  ASSERT_LT(sink.bytes.size(), stored.original.size());
  EXPECT_GT(sink.bytes.size(), 0u) << "the intact batches before the first spill were not written";
  EXPECT_TRUE(std::equal(sink.bytes.begin(), sink.bytes.end(), stored.original.begin()));
}

}  // namespace
}  // namespace codex
