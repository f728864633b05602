// Durability as a property: for many (K, M) geometries and random inputs, a
// protected dataset in a repository survives any loss the code can bear
// (up to M whole slots, or up to M blocks per EC group, missing or corrupt):
// get_dataset gives back the original bytes exactly and says which blocks it
// rebuilt, check_dataset calls the damage recoverable and repair_dataset
// restores it. One loss more in a group is Errc::unrecoverable, never wrong
// bytes. Losses are made the way a disk makes them: a `blocks` row deleted
// (missing) or bytes overwritten in a pack (corrupt). The repository keeps
// each content once, so rows with equal bytes (K = 1, where most backends make
// parity a copy of the data, or a group whose only data row is followed by
// padding) are lost together, and the expectations say so. Each case has a
// fixed seed, printed when it fails.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include "protected_car.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "codex/block_source.hpp"
#include "codex/car.hpp"
#include "codex/dataset.hpp"
#include "codex/encode.hpp"
#include "codex/erasure.hpp"
#include "codex/health.hpp"
#include "codex/io.hpp"
#include "codex/layout.hpp"
#include "codex/repository.hpp"

namespace codex {
namespace {

using testing::random_bytes;
using testing::TempDir;

namespace fs = std::filesystem;

constexpr std::uint64_t kBlockSize = 4096;

// The plain dataset's CAR stream and its protected CAR stream, made in memory.
struct Encoded {
  Bytes protected_car;
  Cid cid;
  SteppedLayout layout;
  std::string backend;
};

Encoded encode(const Bytes& data, std::uint32_t k, std::uint32_t m, const std::string& backend,
               const std::string& spill_dir) {
  EncodeOptions options;
  options.k = k;
  options.m = m;
  options.backend = backend;
  options.spill_dir = spill_dir;
  auto made = testing::make_protected_car(data, kBlockSize, options);
  Encoded out;
  if (!made.encoded) return out;
  out.protected_car = std::move(made.car);
  out.cid = made.encoded->manifest_cid;
  out.layout = made.encoded->layout;
  out.backend = made.encoded->manifest.erasure->backend;
  return out;
}

Bytes read_file(const std::string& path) {
  Bytes out;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return out;
  std::uint8_t buffer[65536];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) out.insert(out.end(), buffer, buffer + n);
  ::close(fd);
  return out;
}

// A repository holding one protected dataset, with the means to damage it.
class Damageable {
 public:
  Damageable(const std::string& dir, const Encoded& encoded) : dir_(dir), cid_(encoded.cid) {
    auto opened = Repository::open(dir);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    repo_ = std::move(*opened);
    MemorySource input(encoded.protected_car);
    auto put = put_stream(*repo_, input, PutOptions{});
    EXPECT_TRUE(put.ok()) << put.error().message;
    auto record = find_dataset(*repo_, cid_);
    EXPECT_TRUE(record.ok());
    record_ = *record;
    auto leaves = repo_->tree_leaves(record_.manifest.tree);
    EXPECT_TRUE(leaves.ok());
    leaves_ = *leaves;
  }

  Repository& repo() { return *repo_; }
  const DatasetRecord& record() const { return record_; }
  const std::vector<Digest>& leaves() const { return leaves_; }

  // Deletes the index row of block `index` (and so of every index sharing its content).
  void lose(std::uint64_t index) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/codex.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "DELETE FROM blocks WHERE digest = ?", -1, &stmt, nullptr), SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, leaves_[index].data(), 32, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }

  // Overwrites a few bytes of block `index` in its pack, keeping its index row.
  void corrupt(std::uint64_t index, std::mt19937_64& rng) {
    auto location = repo_->locate_block(leaves_[index]);
    ASSERT_TRUE(location.ok());
    ASSERT_TRUE(location->has_value()) << "block " << index << " is not stored";
    const BlockLocation& at = **location;
    char name[32];
    std::snprintf(name, sizeof name, "pack-%06lld.dat", static_cast<long long>(at.pack));
    const std::string path = dir_ + "/packs/" + name;
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << path;
    const std::uint64_t where = at.offset + rng() % at.size;
    std::uint8_t byte = 0;
    ASSERT_EQ(::pread(fd, &byte, 1, static_cast<off_t>(where)), 1);
    byte ^= static_cast<std::uint8_t>(1 + rng() % 255);
    ASSERT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>(where)), 1);
    ::close(fd);
  }

 private:
  std::string dir_;
  Cid cid_;
  std::unique_ptr<Repository> repo_;
  DatasetRecord record_;
  std::vector<Digest> leaves_;
};

struct Geometry {
  std::uint32_t k, m;
};

constexpr Geometry kGeometries[] = {{1, 1}, {2, 1}, {2, 2}, {3, 2}, {4, 2}, {5, 3},
                                    {6, 4}, {10, 4}, {8, 8}, {16, 4}, {3, 5}};

bool backend_takes(const std::string& backend, Geometry g) {
  if (backend == "isa_l_rs_vand") return g.m < 5;
  if (backend == "jerasure_rs_cauchy") return g.k + g.m <= 16;
  return true;
}

// What one loss pattern does: index -> "missing" or "corrupt".
using Losses = std::map<std::uint64_t, std::string>;

// Content addressing: losing a block's bytes loses every index with the same
// content. The losses as the repository will see them.
Losses close_over_content(const Losses& losses, const std::vector<Digest>& leaves, const SteppedLayout& layout) {
  std::map<Digest, std::string> lost;
  for (const auto& [index, why] : losses) {
    auto [it, inserted] = lost.emplace(leaves[index], why);
    if (!inserted && why == "missing") it->second = "missing";  // a deleted row wins over bad bytes
  }
  Losses out;
  for (std::uint64_t i = 0; i < leaves.size(); ++i) {
    if (layout.is_padding(i)) continue;
    auto it = lost.find(leaves[i]);
    if (it != lost.end()) out[i] = it->second;
  }
  return out;
}

std::vector<std::uint64_t> groups_short_of_k(const Losses& losses, const SteppedLayout& layout) {
  std::map<std::uint64_t, std::uint32_t> lost_in_group;
  for (const auto& [index, why] : losses) ++lost_in_group[layout.group_of(index)];
  std::vector<std::uint64_t> out;
  for (const auto& [group, lost] : lost_in_group)
    if (layout.slots() - lost < layout.k) out.push_back(group);
  return out;
}

std::string describe(const Losses& losses) {
  std::string text;
  for (const auto& [index, why] : losses) text += fmt::format("{}{}:{}", text.empty() ? "" : " ", index, why);
  return text.empty() ? "(none)" : text;
}

// Rows of a group that hold stored blocks (not padding).
std::vector<std::uint32_t> stored_rows(const SteppedLayout& layout, std::uint64_t group) {
  std::vector<std::uint32_t> rows;
  for (std::uint32_t row = 0; row < layout.slots(); ++row)
    if (!layout.is_padding(layout.index(group, row))) rows.push_back(row);
  return rows;
}

std::string random_kind(std::mt19937_64& rng) { return rng() % 2 ? "missing" : "corrupt"; }

// Up to M whole slots, each block of them missing or corrupt.
Losses lose_slots(const SteppedLayout& layout, std::uint32_t count, std::mt19937_64& rng) {
  std::vector<std::uint32_t> slots(layout.slots());
  for (std::uint32_t s = 0; s < layout.slots(); ++s) slots[s] = s;
  std::shuffle(slots.begin(), slots.end(), rng);
  Losses losses;
  const bool mixed = rng() % 2;
  const std::string kind = random_kind(rng);
  for (std::uint32_t i = 0; i < count; ++i)
    for (std::uint64_t index = layout.slot_begin(slots[i]); index < layout.slot_end(slots[i]); ++index)
      if (!layout.is_padding(index)) losses[index] = mixed ? random_kind(rng) : kind;
  return losses;
}

// In every group, up to `most` of its stored rows, missing or corrupt.
Losses lose_per_group(const SteppedLayout& layout, std::uint32_t most, std::mt19937_64& rng) {
  Losses losses;
  for (std::uint64_t group = 0; group < layout.steps; ++group) {
    auto rows = stored_rows(layout, group);
    std::shuffle(rows.begin(), rows.end(), rng);
    const std::uint32_t n = static_cast<std::uint32_t>(rng() % (most + 1));
    for (std::uint32_t i = 0; i < n && i < rows.size(); ++i) losses[layout.index(group, rows[i])] = random_kind(rng);
  }
  return losses;
}

// Exactly M+1 stored rows of one group (there are always at least M+1: padding
// takes fewer than K rows), all of kind `kind`, plus up to M in other groups.
Losses lose_one_group_too_many(const SteppedLayout& layout, std::uint64_t group, const std::string& kind,
                               std::mt19937_64& rng) {
  Losses losses = lose_per_group(layout, layout.m, rng);
  for (auto it = losses.begin(); it != losses.end();)
    it = layout.group_of(it->first) == group ? losses.erase(it) : std::next(it);
  auto rows = stored_rows(layout, group);
  std::shuffle(rows.begin(), rows.end(), rng);
  for (std::uint32_t i = 0; i <= layout.m; ++i)
    losses[layout.index(group, rows[i])] = kind.empty() ? random_kind(rng) : kind;
  if (kind == "missing")  // no corrupt loss elsewhere either: a pure "missing" case
    for (auto& [index, why] : losses) why = "missing";
  return losses;
}

// How the patterns of one geometry turned out, so that a test whose patterns
// all came out trivial (no loss, or all hopeless) does not pass unnoticed.
struct Outcomes {
  int recovered = 0;      // losses, all recoverable
  int unrecoverable = 0;  // some group short of K
};

// Applies `asked` losses to a fresh repository holding `encoded` and checks
// get/check/repair against what the losses (closed over shared content) allow.
void run_pattern(const Encoded& encoded, const Bytes& original, const Losses& asked, const std::string& label,
                 std::mt19937_64& rng, Outcomes& outcomes) {
  TempDir dir;
  Damageable repo(dir.path() + "/repo", encoded);
  const SteppedLayout& layout = encoded.layout;
  const Losses losses = close_over_content(asked, repo.leaves(), layout);
  SCOPED_TRACE(fmt::format("{}: losses {}", label, describe(losses)));
  for (const auto& [index, why] : asked) {
    if (why == "missing") repo.lose(index);
  }
  std::set<Digest> corrupted;
  for (const auto& [index, why] : losses) {
    // A row deleted for content shared with a "missing" index stays deleted;
    // only still-indexed blocks can be corrupted, each content once.
    if (why == "corrupt" && corrupted.insert(repo.leaves()[index]).second) repo.corrupt(index, rng);
  }
  const std::vector<std::uint64_t> short_groups = groups_short_of_k(losses, layout);
  const bool recoverable = short_groups.empty();
  bool any_corrupt = false;
  for (const auto& [index, why] : losses) any_corrupt |= why == "corrupt";
  if (!losses.empty()) ++(recoverable ? outcomes.recovered : outcomes.unrecoverable);

  // get
  MemorySink sink;
  auto got = get_dataset(repo.repo(), *repository_source(repo.repo()), encoded.cid, sink, GetOptions{});
  if (recoverable) {
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_EQ(sink.bytes.size(), original.size());
    EXPECT_TRUE(sink.bytes == original) << "get gave different bytes";
    EXPECT_EQ(got->bytes, original.size());
    std::map<std::uint64_t, std::string> rebuilt;
    for (const auto& block : got->rebuilt) {
      EXPECT_TRUE(rebuilt.emplace(block.index, block.reason).second) << "block " << block.index << " rebuilt twice";
    }
    Losses data_losses;
    for (const auto& [index, why] : losses)
      if (index < layout.blocks) data_losses[index] = why;
    EXPECT_EQ(describe(rebuilt), describe(data_losses)) << "rebuilt blocks are not the lost data blocks";

    // Into a file, which get fills group by group: the same bytes, the same account.
    auto file = open_output(dir.path() + "/got");
    ASSERT_TRUE(file.ok() && (*file)->can_write_at());
    auto got_file = get_dataset(repo.repo(), *repository_source(repo.repo()), encoded.cid, **file, GetOptions{});
    ASSERT_TRUE(got_file.ok()) << got_file.error().message;
    ASSERT_TRUE((*file)->flush().ok());
    file->reset();
    EXPECT_TRUE(read_file(dir.path() + "/got") == original) << "get into a file gave different bytes";
    EXPECT_EQ(got_file->bytes, original.size());
    std::map<std::uint64_t, std::string> rebuilt_file;
    for (const auto& block : got_file->rebuilt) rebuilt_file.emplace(block.index, block.reason);
    EXPECT_EQ(describe(rebuilt_file), describe(data_losses)) << "get into a file rebuilt other blocks";
  } else {
    ASSERT_FALSE(got.ok()) << "get succeeded although groups are short of K";
    EXPECT_EQ(got.error().code, Errc::unrecoverable) << got.error().message;
    bool named = false;
    for (std::uint64_t group : short_groups)
      named |= got.error().message.find(fmt::format("group {} ", group)) != std::string::npos;
    EXPECT_TRUE(named) << "the message names none of the groups short of K: " << got.error().message;
    // Never wrong bytes; and nothing at all when the loss is visible without hashing.
    ASSERT_LE(sink.bytes.size(), original.size());
    EXPECT_TRUE(std::equal(sink.bytes.begin(), sink.bytes.end(), original.begin()))
        << "get wrote bytes that are not the original's before failing";
    if (!any_corrupt) {
      EXPECT_TRUE(sink.bytes.empty()) << "get wrote " << sink.bytes.size() << " bytes before failing";
    }
  }

  // check
  auto health = check_dataset(repo.repo(), *repository_source(repo.repo()), repo.record(), CheckOptions{});
  ASSERT_TRUE(health.ok()) << health.error().message;
  std::vector<std::uint64_t> lost_indices;
  std::uint64_t missing = 0, corrupt = 0;
  for (const auto& [index, why] : losses) {
    lost_indices.push_back(index);
    (why == "missing" ? missing : corrupt)++;
  }
  EXPECT_EQ(health->bad, lost_indices);
  EXPECT_EQ(health->missing, missing);
  EXPECT_EQ(health->corrupt, corrupt);
  EXPECT_EQ(health->unrecoverable_groups, short_groups);
  EXPECT_EQ(health->state, losses.empty()       ? DatasetState::intact
                           : recoverable        ? DatasetState::damaged
                                                : DatasetState::unrecoverable);

  // repair
  auto source = repository_source(repo.repo());
  auto repaired = repair_dataset(repo.repo(), *source, repo.record(), RepairOptions{});
  ASSERT_TRUE(repaired.ok()) << repaired.error().message;
  auto after = check_dataset(repo.repo(), *repository_source(repo.repo()), repo.record(), CheckOptions{});
  ASSERT_TRUE(after.ok()) << after.error().message;
  if (recoverable) {
    EXPECT_EQ(repaired->rebuilt, lost_indices);
    EXPECT_TRUE(repaired->failure.empty()) << repaired->failure;
    EXPECT_EQ(repaired->after, DatasetState::intact);
    EXPECT_EQ(after->state, DatasetState::intact) << "still bad: " << after->bad.size();
    MemorySink again;
    auto regot = get_dataset(repo.repo(), *repository_source(repo.repo()), encoded.cid, again, GetOptions{});
    ASSERT_TRUE(regot.ok()) << regot.error().message;
    EXPECT_TRUE(again.bytes == original);
    EXPECT_TRUE(regot->rebuilt.empty()) << "after repair get still rebuilt " << regot->rebuilt.size() << " blocks";
  } else {
    EXPECT_FALSE(repaired->failure.empty());
    EXPECT_EQ(repaired->after, DatasetState::unrecoverable);
    EXPECT_EQ(after->state, DatasetState::unrecoverable);
    // The groups that could be rebuilt were: only the short ones stay bad.
    std::set<std::uint64_t> short_set(short_groups.begin(), short_groups.end());
    for (std::uint64_t index : after->bad)
      EXPECT_TRUE(short_set.count(layout.group_of(index))) << "block " << index << " of a recoverable group stayed bad";
  }
}

class DurabilityTest : public ::testing::TestWithParam<Geometry> {};

TEST_P(DurabilityTest, SurvivesWhatTheCodeAllowsAndNoMore) {
  const Geometry g = GetParam();
  const std::vector<std::string> backends = available_backends();
  ASSERT_FALSE(backends.empty());
  TempDir spill;
  Outcomes outcomes;
  int case_number = 0;
  // Block counts: one block (K > blocks whenever K > 1), K - 1, K + 1, and a few groups.
  std::set<std::uint64_t> counts = {1, std::max<std::uint64_t>(1, g.k - 1), g.k + 1, 3ull * g.k + 2, 7ull * g.k + 3};
  for (std::uint64_t blocks : counts) {
    const std::uint64_t seed = 1000003ull * g.k + 7919ull * g.m + blocks;
    SCOPED_TRACE(fmt::format("K={} M={} blocks={} seed={}", g.k, g.m, blocks, seed));
    std::mt19937_64 rng(seed);
    // The last block partial (or whole), never empty.
    const std::size_t size = (blocks - 1) * kBlockSize + 1 + rng() % kBlockSize;
    const Bytes original = random_bytes(rng, size);
    // Rotate through the backends that take this geometry.
    std::string backend;
    for (std::size_t i = 0; i < backends.size(); ++i) {
      const std::string& candidate = backends[(case_number + i) % backends.size()];
      if (backend_takes(candidate, g)) {
        backend = candidate;
        break;
      }
    }
    ++case_number;
    const Encoded encoded = encode(original, g.k, g.m, backend, spill.path());
    ASSERT_TRUE(encoded.cid.valid());
    SCOPED_TRACE("backend " + encoded.backend);
    const SteppedLayout& layout = encoded.layout;
    ASSERT_EQ(layout.blocks, blocks);

    run_pattern(encoded, original, {}, "no loss", rng, outcomes);
    for (std::uint32_t slots = 1; slots <= g.m; slots = slots < g.m ? std::min(g.m, slots * 2) : g.m + 1)
      run_pattern(encoded, original, lose_slots(layout, slots, rng), fmt::format("{} whole slots", slots), rng, outcomes);
    run_pattern(encoded, original, lose_per_group(layout, g.m, rng), "up to M per group", rng, outcomes);
    for (int again = 1; again <= 3; ++again)
      run_pattern(encoded, original, lose_per_group(layout, g.m, rng), fmt::format("up to M per group ({})", again),
                  rng, outcomes);
    const std::uint64_t group = rng() % layout.steps;
    run_pattern(encoded, original, lose_one_group_too_many(layout, group, "missing", rng),
                fmt::format("M+1 missing in group {}", group), rng, outcomes);
    run_pattern(encoded, original, lose_one_group_too_many(layout, group, "corrupt", rng),
                fmt::format("M+1 corrupt in group {}", group), rng, outcomes);
    run_pattern(encoded, original, lose_slots(layout, g.m + 1, rng), "M+1 whole slots", rng, outcomes);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(outcomes.unrecoverable, 0);
  // With K = 1 most backends make parity a copy of the data block: one stored
  // block serves both rows, so no loss of it is recoverable in one repository.
  if (g.k > 1) {
    EXPECT_GT(outcomes.recovered, 3) << "too few recoverable loss patterns were tried";
  }
  RecordProperty("recovered", outcomes.recovered);
  RecordProperty("unrecoverable", outcomes.unrecoverable);
}

INSTANTIATE_TEST_SUITE_P(Geometries, DurabilityTest, ::testing::ValuesIn(kGeometries),
                         [](const ::testing::TestParamInfo<Geometry>& info) {
                           return fmt::format("K{}M{}", info.param.k, info.param.m);
                         });

// Corruption is found by hashing before decoding: exactly M+1 corrupt blocks
// in one group (every one still indexed, so a presence check sees nothing)
// must be Errc::unrecoverable. Fed to the decoder they would give wrong bytes.
TEST(DurabilityCorruption, MPlusOneCorruptInOneGroupIsUnrecoverableNotWrongBytes) {
  for (Geometry g : {Geometry{2, 1}, Geometry{4, 2}, Geometry{6, 3}}) {
    const std::uint64_t seed = 4242 + g.k;
    SCOPED_TRACE(fmt::format("K={} M={} seed={}", g.k, g.m, seed));
    std::mt19937_64 rng(seed);
    const Bytes original = random_bytes(rng, 4 * g.k * kBlockSize);
    TempDir spill;
    const Encoded encoded = encode(original, g.k, g.m, "", spill.path());
    const SteppedLayout& layout = encoded.layout;
    for (std::uint64_t group : {std::uint64_t{0}, layout.steps - 1}) {
      TempDir dir;
      Damageable repo(dir.path() + "/repo", encoded);
      for (std::uint32_t row = 0; row <= g.m; ++row) repo.corrupt(layout.index(group, row), rng);
      MemorySink sink;
      auto got = get_dataset(repo.repo(), *repository_source(repo.repo()), encoded.cid, sink, GetOptions{});
      ASSERT_FALSE(got.ok()) << "get succeeded with M+1 corrupt blocks in group " << group;
      EXPECT_EQ(got.error().code, Errc::unrecoverable) << got.error().message;
      EXPECT_TRUE(std::equal(sink.bytes.begin(), sink.bytes.end(), original.begin()))
          << "wrong bytes written before failing";
    }
  }
}

// The stronger promise of get_dataset ("nothing is written for an EC group
// that cannot be rebuilt"): an unrecoverable dataset writes nothing at all,
// also when the loss is corruption that only hashing finds. A later group
// being the bad one must not let the earlier groups' bytes out first.
// Corruption is found as blocks are read (presence is checked up front, bytes
// are not hashed twice), so get may have streamed the groups before the bad
// one; what it wrote must be exactly the start of the original, never a
// wrong byte, and the error must name the group.
TEST(DurabilityCorruption, UnrecoverableCorruptionWritesOnlyACorrectPrefix) {
  const Geometry g{4, 2};
  std::mt19937_64 rng(77);
  const Bytes original = random_bytes(rng, 4 * g.k * kBlockSize);
  TempDir spill;
  const Encoded encoded = encode(original, g.k, g.m, "", spill.path());
  const SteppedLayout& layout = encoded.layout;
  const std::uint64_t group = layout.steps - 1;
  TempDir dir;
  Damageable repo(dir.path() + "/repo", encoded);
  for (std::uint32_t row = 0; row <= g.m; ++row) repo.corrupt(layout.index(group, row), rng);
  MemorySink sink;
  auto got = get_dataset(repo.repo(), *repository_source(repo.repo()), encoded.cid, sink, GetOptions{});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::unrecoverable) << got.error().message;
  EXPECT_NE(got.error().message.find(fmt::format("EC group {}", group)), std::string::npos) << got.error().message;
  ASSERT_LT(sink.bytes.size(), original.size());
  EXPECT_TRUE(std::equal(sink.bytes.begin(), sink.bytes.end(), original.begin()))
      << "get wrote bytes that are not the start of the original";
}

// A plain dataset has no redundancy: one lost block and get fails without output.
TEST(DurabilityPlain, PlainDatasetWithALostBlockFailsWithoutOutput) {
  std::mt19937_64 rng(5);
  const Bytes original = random_bytes(rng, 5 * kBlockSize + 17);
  MemorySink car;
  {
    MemorySource input(original);
    CarWriter writer(car);
    ChunkOptions options;
    options.block_size = kBlockSize;
    ASSERT_TRUE(chunk_stream(input, &writer, options).ok());
  }
  TempDir dir;
  auto repo = Repository::open(dir.path() + "/repo");
  ASSERT_TRUE(repo.ok());
  MemorySource input(car.bytes);
  auto put = put_stream(**repo, input, PutOptions{});
  ASSERT_TRUE(put.ok()) << put.error().message;
  auto leaves = (*repo)->tree_leaves(put->manifest.tree);
  ASSERT_TRUE(leaves.ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/repo/codex.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "DELETE FROM blocks WHERE digest = ?", -1, &stmt, nullptr), SQLITE_OK);
  sqlite3_bind_blob(stmt, 1, (*leaves)[3].data(), 32, SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  MemorySink sink;
  auto got = get_dataset(**repo, *repository_source(**repo), put->manifest_cid, sink, GetOptions{});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::unrecoverable) << got.error().message;
  EXPECT_TRUE(sink.bytes.empty());
  auto record = find_dataset(**repo, put->manifest_cid);
  ASSERT_TRUE(record.ok());
  auto health = check_dataset(**repo, *repository_source(**repo), *record, CheckOptions{});
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->state, DatasetState::unrecoverable);
  EXPECT_EQ(health->bad, std::vector<std::uint64_t>{3});
  auto source = repository_source(**repo);
  auto repaired = repair_dataset(**repo, *source, *record, RepairOptions{});
  ASSERT_TRUE(repaired.ok());
  EXPECT_FALSE(repaired->failure.empty());
  EXPECT_TRUE(repaired->rebuilt.empty());
}

}  // namespace
}  // namespace codex
