// Storage proofs over a repository: the first proof of a slot caches its
// blocks' cell roots; later proofs use them, and a cache that no longer gives
// the manifest's slot root is recomputed rather than trusted.
#include "codex/audit.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "codex/dataset.hpp"
#include "codex/encode.hpp"
#include "codex/health.hpp"
#include "test_support.hpp"

namespace codex {
namespace {

using testing::random_bytes;
using testing::TempDir;

constexpr std::uint64_t kBlockSize = 4096;

// A protected dataset (K=3, M=2) put whole into a fresh repository.
struct Fixture {
  TempDir dir;
  std::unique_ptr<Repository> repo;
  Cid cid;

  Fixture() {
    std::mt19937_64 rng(11);
    MemorySink plain;
    {
      MemorySource input(random_bytes(rng, 20 * kBlockSize + 100));
      CarWriter writer(plain);
      ChunkOptions options;
      options.block_size = kBlockSize;
      EXPECT_TRUE(chunk_stream(input, &writer, options).ok());
    }
    MemorySink protected_car;
    {
      MemorySource input(plain.bytes);
      CarWriter writer(protected_car);
      EncodeOptions options;
      options.k = 3;
      options.m = 2;
      options.spill_dir = dir.path();
      auto encoded = encode_stream(input, writer, options);
      EXPECT_TRUE(encoded.ok()) << encoded.error().message;
    }
    repo = std::move(*Repository::open(dir.path() + "/repo"));
    MemorySource input(protected_car.bytes);
    auto put = put_stream(*repo, input, PutOptions{});
    EXPECT_TRUE(put.ok()) << put.error().message;
    cid = put->manifest_cid;
  }

  void run_sql(const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() + "/repo/codex.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
};

Bytes challenge(std::uint8_t seed) { return Bytes(kChallengeSize, seed); }

TEST(AuditCache, FirstProofCachesTheSlotsCellRoots) {
  Fixture f;
  auto before = f.repo->slot_block_roots(f.cid, 2);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value());
  auto proof = prove_slot(*f.repo, *repository_source(*f.repo), f.cid, 2, challenge(1), 4);
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  auto after = f.repo->slot_block_roots(f.cid, 2);
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->size(), 7u);  // 21 data blocks, K=3: 7 blocks per slot
  EXPECT_TRUE(check_proof(*f.repo, *proof, ProofExpectations{challenge(1), 2u, 4u}).ok());
  // A second proof (from the cache) is as good.
  auto again = prove_slot(*f.repo, *repository_source(*f.repo), f.cid, 2, challenge(2), 4);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(check_proof(*f.repo, *again, ProofExpectations{challenge(2), 2u, 4u}).ok());
}

TEST(AuditCache, WrongCachedRootsAreRecomputedNotTrusted) {
  Fixture f;
  ASSERT_TRUE(prove_slot(*f.repo, *repository_source(*f.repo), f.cid, 0, challenge(1), 4).ok());
  // Replace slot 0's cached roots with slot 1's: well-formed, but wrong.
  ASSERT_TRUE(prove_slot(*f.repo, *repository_source(*f.repo), f.cid, 1, challenge(1), 4).ok());
  f.run_sql("UPDATE slot_trees SET block_roots = (SELECT block_roots FROM slot_trees WHERE slot = 1) WHERE slot = 0");
  auto reopened = Repository::open(f.dir.path() + "/repo");
  ASSERT_TRUE(reopened.ok());
  auto proof = prove_slot(**reopened, *repository_source(**reopened), f.cid, 0, challenge(3), 4);
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  EXPECT_TRUE(check_proof(**reopened, *proof, ProofExpectations{challenge(3), 0u, 4u}).ok());
  auto fixed = (*reopened)->slot_block_roots(f.cid, 0);
  auto slot1 = (*reopened)->slot_block_roots(f.cid, 1);
  ASSERT_TRUE(fixed.ok() && fixed->has_value() && slot1.ok() && slot1->has_value());
  EXPECT_NE(**fixed, **slot1) << "the wrong cache was kept";
}

TEST(AuditCache, SchemaVersionOneIsMigrated) {
  Fixture f;
  f.run_sql("DROP TABLE slot_trees; PRAGMA user_version = 1;");
  auto reopened = Repository::open(f.dir.path() + "/repo");
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  auto proof = prove_slot(**reopened, *repository_source(**reopened), f.cid, 4, challenge(9), 4);
  ASSERT_TRUE(proof.ok()) << proof.error().message;
  auto cached = (*reopened)->slot_block_roots(f.cid, 4);
  ASSERT_TRUE(cached.ok() && cached->has_value());
}

// Per-slot states: slot 0 lost whole (recoverable: M=2), and in group 0 also
// rows 1 and 2 (three bad rows there: group 0 is lost, so slots 0-2 are
// unrecoverable while slot 3 stays intact).
TEST(SlotHealthState, SaysWhichSlotsCanBeRebuilt) {
  Fixture f;
  auto record = f.repo->find_dataset(f.cid);
  ASSERT_TRUE(record.ok() && record->has_value());
  auto leaves = f.repo->tree_leaves((*record)->manifest.tree);
  ASSERT_TRUE(leaves.ok());
  auto layout = SteppedLayout::of((*record)->manifest);
  ASSERT_TRUE(layout.ok());
  auto lose = [&](std::uint64_t index) {
    f.run_sql("DELETE FROM blocks WHERE digest = X'" + to_hex((*leaves)[index]) + "'");
  };
  for (std::uint64_t i = layout->slot_begin(0); i < layout->slot_end(0); ++i) lose(i);
  auto reopened = Repository::open(f.dir.path() + "/repo");
  ASSERT_TRUE(reopened.ok());
  auto damaged = check_dataset(**reopened, *repository_source(**reopened), **record, CheckOptions{});
  ASSERT_TRUE(damaged.ok()) << damaged.error().message;
  EXPECT_EQ(damaged->state, DatasetState::damaged);
  EXPECT_EQ(damaged->slots[0].state, DatasetState::damaged);
  EXPECT_EQ(damaged->slots[1].state, DatasetState::intact);

  lose(layout->index(0, 1));
  lose(layout->index(0, 2));
  auto lost = check_dataset(**reopened, *repository_source(**reopened), **record, CheckOptions{});
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  EXPECT_EQ(lost->state, DatasetState::unrecoverable);
  EXPECT_EQ(lost->unrecoverable_groups, std::vector<std::uint64_t>{0});
  for (std::uint32_t slot : {0u, 1u, 2u}) EXPECT_EQ(lost->slots[slot].state, DatasetState::unrecoverable) << slot;
  EXPECT_EQ(lost->slots[3].state, DatasetState::intact);
}

}  // namespace
}  // namespace codex
