// The block-source seam and a Repository shared by threads: the batched read
// loop visits every item once in order, a chain of sources takes each block
// from the first that gives it intact (and says why when none does), a get
// through a chain whose first source lacks blocks still returns the dataset,
// and many threads of one process put, get and check through one Repository.
#include "codex/block_source.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "codex/car.hpp"
#include "codex/dataset.hpp"
#include "codex/health.hpp"
#include "codex/io.hpp"
#include "fingerprint.hpp"

#include <cstdio>
#include <fmt/format.h>

namespace codex {
namespace {

using testing::random_bytes;
using testing::TempDir;

// Blocks in memory, a subset of them deliberately absent or damaged.
class MapSource : public BlockSource {
 public:
  std::map<Digest, Bytes> blocks;
  std::map<Digest, Errc> failures;  // what to answer instead
  std::atomic<int> reads{0};
  Result<bool> has(const Digest& digest) override { return blocks.count(digest) > 0; }
  Status read(const Digest& digest, Bytes& out) override {
    ++reads;
    if (auto f = failures.find(digest); f != failures.end()) return make_error(f->second, "scripted failure");
    auto it = blocks.find(digest);
    if (it == blocks.end()) return make_error(Errc::not_found, "not in the map");
    out = it->second;
    return {};
  }
};

TEST(BlockSourceTest, ReadBatchesVisitsEveryItemOnceInOrder) {
  std::mt19937_64 rng(1);
  MapSource source;
  std::vector<Digest> digests;
  for (int i = 0; i < 10; ++i) {
    Bytes b = random_bytes(rng, 100 + i);
    digests.push_back(sha256(b));
    source.blocks[digests.back()] = b;
  }
  std::vector<std::size_t> firsts;
  std::size_t seen = 0;
  Status status = read_batches(source, digests, 4, [&](std::size_t first, std::span<Bytes> blocks, std::span<Status> st) {
    firsts.push_back(first);
    EXPECT_EQ(first, seen);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      EXPECT_TRUE(st[i].ok());
      EXPECT_EQ(sha256(blocks[i]), digests[first + i]);
    }
    seen += blocks.size();
    return Status();
  });
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(seen, digests.size());
  EXPECT_EQ(firsts, (std::vector<std::size_t>{0, 4, 8}));
  // The visitor's error stops the loop.
  int calls = 0;
  status = read_batches(source, digests, 4, [&](std::size_t, std::span<Bytes>, std::span<Status>) -> Status {
    ++calls;
    return make_error(Errc::io, "stop");
  });
  EXPECT_EQ(status.error().code, Errc::io);
  EXPECT_EQ(calls, 1);
  // Nothing to read: no visit at all.
  status = read_batches(source, std::span<const Digest>(), 4, [&](std::size_t, std::span<Bytes>, std::span<Status>) {
    ADD_FAILURE() << "visited an empty range";
    return Status();
  });
  EXPECT_TRUE(status.ok());
}

TEST(BlockSourceTest, ChainTakesEachBlockFromTheFirstThatHasIt) {
  std::mt19937_64 rng(2);
  MapSource local, peer;
  std::vector<Digest> digests;
  for (int i = 0; i < 6; ++i) {
    Bytes b = random_bytes(rng, 64);
    digests.push_back(sha256(b));
    if (i % 2 == 0) local.blocks[digests.back()] = b;
    peer.blocks[digests.back()] = b;
  }
  local.failures[digests[0]] = Errc::corrupt;  // the local copy is damaged: the peer's is used
  auto chain = chained_source({&local, &peer});
  std::vector<Bytes> out(digests.size());
  std::vector<Status> status(digests.size());
  chain->read_many(digests, out, status);
  for (std::size_t i = 0; i < digests.size(); ++i) {
    ASSERT_TRUE(status[i].ok()) << i << ": " << status[i].error().message;
    EXPECT_EQ(sha256(out[i]), digests[i]);
  }
  EXPECT_EQ(peer.reads.load(), 4);  // blocks 0, 1, 3, 5
  auto has = chain->has(digests[1]);
  ASSERT_TRUE(has.ok());
  EXPECT_TRUE(*has);

  // Nobody has it: the first source's answer, unless a later one knew more.
  Bytes lost = random_bytes(rng, 64);
  const Digest nowhere = sha256(lost);
  Bytes block;
  Status one = chain->read(nowhere, block);
  EXPECT_EQ(one.error().code, Errc::not_found);
  peer.failures[nowhere] = Errc::unavailable;
  one = chain->read(nowhere, block);
  EXPECT_EQ(one.error().code, Errc::unavailable);
  std::vector<Digest> single{nowhere};
  std::vector<Bytes> single_out(1);
  std::vector<Status> single_status(1);
  chain->read_many(single, single_out, single_status);
  EXPECT_EQ(single_status[0].error().code, Errc::unavailable);
  local.failures[nowhere] = Errc::corrupt;
  chain->read_many(single, single_out, single_status);
  EXPECT_EQ(single_status[0].error().code, Errc::corrupt);
}

struct Stored {
  Bytes data;
  Bytes car;
  Cid cid;
};

Stored make_stored(std::mt19937_64& rng, std::size_t size, std::uint64_t block_size) {
  Stored s;
  s.data = random_bytes(rng, size);
  MemorySource input(s.data);
  MemorySink sink;
  CarWriter writer(sink);
  ChunkOptions options;
  options.block_size = block_size;
  auto chunked = chunk_stream(input, &writer, options);
  EXPECT_TRUE(chunked.ok()) << chunked.error().message;
  s.car = sink.bytes;
  s.cid = chunked->manifest_cid;
  return s;
}

TEST(BlockSourceTest, GetThroughAChainFillsWhatTheRepositoryLacks) {
  std::mt19937_64 rng(3);
  TempDir dir;
  auto repo = Repository::open(dir.path() + "/repo");
  ASSERT_TRUE(repo.ok());
  Stored s = make_stored(rng, 20 * 4096 + 17, 4096);
  MemorySource input(s.car);
  auto put = put_stream(**repo, input, PutOptions{});
  ASSERT_TRUE(put.ok()) << put.error().message;
  // Another node holds the blocks; locally every third one is gone.
  auto leaves = (*repo)->tree_leaves(put->manifest.tree);
  ASSERT_TRUE(leaves.ok());
  auto local = repository_source(**repo);
  MapSource peer;
  for (const Digest& d : *leaves) {
    Bytes b;
    ASSERT_TRUE(local->read(d, b).ok());
    peer.blocks[d] = b;
  }
  // A repository with the dataset's record and tree but only some blocks.
  auto sparse = Repository::open(dir.path() + "/sparse");
  ASSERT_TRUE(sparse.ok());
  {
    auto batch = (*sparse)->begin_batch();
    ASSERT_TRUE(batch.ok());
    for (std::size_t i = 0; i < leaves->size(); ++i)
      if (i % 3 != 0) ASSERT_TRUE((*batch)->add_block((*leaves)[i], peer.blocks[(*leaves)[i]]).ok());
    (*batch)->add_tree(put->manifest.tree, *leaves);
    auto record = (*repo)->find_dataset(put->manifest_cid);
    ASSERT_TRUE(record.ok() && record->has_value());
    (*batch)->add_dataset(**record);
    ASSERT_TRUE((*batch)->commit().ok());
  }
  MemorySink alone;
  auto sparse_local = repository_source(**sparse);
  auto failed = get_dataset(**sparse, *sparse_local, put->manifest_cid, alone, GetOptions{});
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(alone.bytes.empty());  // a plain dataset missing blocks fails before writing
  auto chain = chained_source({sparse_local.get(), &peer});
  MemorySink out;
  auto got = get_dataset(**sparse, *chain, put->manifest_cid, out, GetOptions{});
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(out.bytes, s.data);
  EXPECT_EQ(peer.reads.load(), 7);  // blocks 0, 3, ..., 18 of 21
}

// Blocks read again with the fingerprint of their first, checked read
// (read_many_again, what get uses for rows it read ahead to decode a group):
// intact bytes pass whether the fingerprint given is right or wrong (a wrong
// one only costs a hash), and a block damaged in its pack in between is
// found corrupt although it was checked before.
TEST(BlockSourceTest, ReadAgainComparesFingerprintsAndStillFindsDamage) {
  std::mt19937_64 rng(5);
  TempDir dir;
  auto repo = Repository::open(dir.path() + "/repo");
  ASSERT_TRUE(repo.ok());
  Stored s = make_stored(rng, 40 * 4096, 4096);
  MemorySource input(s.car);
  auto put = put_stream(**repo, input, PutOptions{});
  ASSERT_TRUE(put.ok()) << put.error().message;
  auto leaves = (*repo)->tree_leaves(put->manifest.tree);
  ASSERT_TRUE(leaves.ok());
  auto source = repository_source(**repo);
  const std::size_t n = leaves->size();
  std::vector<Bytes> first(n);
  std::vector<Status> status(n);
  source->read_many(*leaves, first, status);
  std::vector<std::optional<std::uint64_t>> known(n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(status[i].ok());
    if (i % 2 == 0) known[i] = block_fingerprint(first[i]);  // every other block "read before"
  }
  known[2] = *known[2] + 1;  // a wrong fingerprint: the block is hashed and passes
  std::vector<Bytes> again(n);
  source->read_many_again(*leaves, known, again, status);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(status[i].ok()) << "block " << i << ": " << status[i].error().message;
    EXPECT_EQ(again[i], first[i]) << "block " << i;
  }
  // Block 4 damaged in its pack after its first read.
  auto location = (*repo)->locate_block((*leaves)[4]);
  ASSERT_TRUE(location.ok() && location->has_value());
  {
    const std::string pack = dir.path() + "/repo/packs/" + fmt::format("pack-{:06d}.dat", (*location)->pack);
    std::FILE* file = std::fopen(pack.c_str(), "r+b");
    ASSERT_NE(file, nullptr) << pack;
    std::fseek(file, static_cast<long>((*location)->offset + 100), SEEK_SET);
    std::fputc(first[4][100] ^ 0xff, file);
    std::fclose(file);
  }
  source->read_many_again(*leaves, known, again, status);
  ASSERT_FALSE(status[4].ok());
  EXPECT_EQ(status[4].error().code, Errc::corrupt);
  for (std::size_t i = 0; i < n; ++i)
    if (i != 4) EXPECT_TRUE(status[i].ok()) << "block " << i;
}

// One Repository object, many threads: puts of different datasets, gets of
// datasets already there and checks, all at once, all correct.
TEST(BlockSourceTest, OneRepositoryServesManyThreads) {
  std::mt19937_64 rng(4);
  TempDir dir;
  auto opened = Repository::open(dir.path());
  ASSERT_TRUE(opened.ok());
  Repository& repo = **opened;
  constexpr int kThreads = 6;
  std::vector<Stored> early, late;
  for (int i = 0; i < kThreads; ++i) early.push_back(make_stored(rng, 30000 + i * 1000, 1024));
  for (int i = 0; i < kThreads; ++i) late.push_back(make_stored(rng, 30000 + i * 777, 1024));
  for (auto& s : early) {
    MemorySource input(s.car);
    ASSERT_TRUE(put_stream(repo, input, PutOptions{}).ok());
  }
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto fail = [&](const std::string& what) { failures[t] += what + "; "; };
      auto source = repository_source(repo);
      for (int round = 0; round < 3; ++round) {
        MemorySink out;
        auto got = get_dataset(repo, *source, early[(t + round) % kThreads].cid, out, GetOptions{});
        if (!got.ok()) fail("get: " + got.error().message);
        else if (out.bytes != early[(t + round) % kThreads].data) fail("get: wrong bytes");
        auto record = find_dataset(repo, early[t].cid);
        if (!record.ok()) {
          fail("find: " + record.error().message);
          continue;
        }
        auto health = check_dataset(repo, *source, *record, CheckOptions{});
        if (!health.ok()) fail("check: " + health.error().message);
        else if (health->state != DatasetState::intact) fail("check: not intact");
      }
      MemorySource input(late[t].car);
      auto put = put_stream(repo, input, PutOptions{});
      if (!put.ok()) fail("put: " + put.error().message);
    });
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  auto source = repository_source(repo);
  for (auto& s : late) {
    MemorySink out;
    auto got = get_dataset(repo, *source, s.cid, out, GetOptions{});
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(out.bytes, s.data);
  }
}

}  // namespace
}  // namespace codex
