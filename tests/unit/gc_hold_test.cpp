// GcHold: a writer that stores a dataset's blocks over many batches and
// records the dataset only at the end (a member's daemon fetching a slot or a
// dataset from other members) keeps gc's sweep away meanwhile. gc waits for
// the hold, and the blocks stored before the dataset was recorded survive.
#include "codex/repository_admin.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

#include <random>

#include "codex/block_source.hpp"
#include "codex/car.hpp"
#include "codex/dataset.hpp"
#include "codex/io.hpp"
#include "codex/repository.hpp"

namespace codex {
namespace {

using testing::random_bytes;
using testing::TempDir;

// A dataset as a member receives it: its record, tree and blocks, taken from
// a repository that holds it.
struct Received {
  DatasetRecord record;
  std::vector<Digest> leaves;
  std::vector<Bytes> blocks;
  Bytes data;
};

Received receive(const std::string& dir, std::mt19937_64& rng) {
  Received r;
  r.data = random_bytes(rng, 40 * 4096 + 7);
  MemorySink car;
  {
    MemorySource input(r.data);
    CarWriter writer(car);
    ChunkOptions options;
    options.block_size = 4096;
    EXPECT_TRUE(chunk_stream(input, &writer, options).ok());
  }
  auto repo = Repository::open(dir);
  EXPECT_TRUE(repo.ok());
  MemorySource input(car.bytes);
  auto put = put_stream(**repo, input, PutOptions{});
  EXPECT_TRUE(put.ok());
  auto record = find_dataset(**repo, put->manifest_cid);
  EXPECT_TRUE(record.ok());
  r.record = *record;
  r.leaves = *(*repo)->tree_leaves(r.record.manifest.tree);
  for (const Digest& leaf : r.leaves) {
    Bytes block;
    EXPECT_TRUE((*repo)->read_block(leaf, block).ok());
    r.blocks.push_back(std::move(block));
  }
  return r;
}

TEST(GcHold, GcWaitsForAHoldAndKeepsTheBlocksStoredUnderIt) {
  std::mt19937_64 rng(11);
  TempDir tmp;
  const Received dataset = receive(tmp.path() + "/source", rng);
  const std::string dir = tmp.path() + "/member";
  auto repo = Repository::open(dir);
  ASSERT_TRUE(repo.ok());

  auto hold = GcHold::take(dir);
  ASSERT_TRUE(hold.ok()) << hold.error().message;
  std::optional<GcHold> holding(std::move(*hold));
  // The tree, then the blocks in two batches; no dataset names them yet.
  for (std::size_t half = 0; half < 2; ++half) {
    auto batch = (*repo)->begin_batch();
    ASSERT_TRUE(batch.ok());
    if (half == 0) (*batch)->add_tree(dataset.record.manifest.tree, dataset.leaves);
    for (std::size_t i = half; i < dataset.leaves.size(); i += 2)
      ASSERT_TRUE((*batch)->add_block(dataset.leaves[i], dataset.blocks[i]).ok());
    ASSERT_TRUE((*batch)->commit().ok());
  }
  auto record_dataset = [&] {
    auto batch = (*repo)->begin_batch();
    ASSERT_TRUE(batch.ok());
    (*batch)->add_dataset(dataset.record);
    ASSERT_TRUE((*batch)->commit().ok());
  };

  // gc starts while the writer holds off gc: it waits; meanwhile the writer
  // records the dataset and lets go.
  bool waited = false;
  {
    auto admin = RepositoryAdmin::open(dir);
    ASSERT_TRUE(admin.ok());
    GcOptions options;
    options.on_wait = [&] {
      waited = true;
      record_dataset();
      holding.reset();
    };
    auto report = (*admin)->gc(options);
    ASSERT_TRUE(report.ok()) << report.error().message;
    EXPECT_EQ(report->unreferenced_blocks, 0u);
  }
  EXPECT_TRUE(waited) << "gc did not wait for the hold";
  if (!waited) record_dataset();

  MemorySink out;
  auto got = get_dataset(**repo, *repository_source(**repo), dataset.record.manifest_cid, out, GetOptions{});
  ASSERT_TRUE(got.ok()) << "blocks stored under the hold were lost to gc: " << got.error().message;
  EXPECT_EQ(out.bytes, dataset.data);
}

TEST(GcHold, WithoutAHoldGcDoesNotWait) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/repo";
  ASSERT_TRUE(Repository::open(dir).ok());
  { auto released = GcHold::take(dir); ASSERT_TRUE(released.ok()); }
  auto admin = RepositoryAdmin::open(dir);
  ASSERT_TRUE(admin.ok());
  bool waited = false;
  GcOptions options;
  options.on_wait = [&] { waited = true; };
  ASSERT_TRUE((*admin)->gc(options).ok());
  EXPECT_FALSE(waited);
}

}  // namespace
}  // namespace codex
