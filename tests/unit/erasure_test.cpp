// ErasureCoder and the two engines behind it, for every backend that loads
// here and many geometries: parity must equal liberasurecode_encode's, and any
// loss of up to M rows must come back byte-exact.
#include "codex/erasure.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <thread>

#include <erasurecode.h>

#include "codex/bytes.hpp"
#include "erasure_engine.hpp"

namespace codex {
namespace {

namespace internal = erasure_internal;

struct KM {
  std::uint32_t k;
  std::uint32_t m;
};

constexpr KM kGeometries[] = {{1, 1}, {2, 1}, {3, 2}, {4, 2}, {2, 5}, {6, 3}, {10, 4}, {16, 16}, {28, 4}};

bool backend_takes(std::string_view backend, KM km) {
  if (backend == "isa_l_rs_vand") return km.m < 5;
  if (backend == "jerasure_rs_cauchy") return km.k + km.m <= 16;
  return true;
}

Bytes random_block(std::mt19937_64& rng, std::size_t size) {
  Bytes block(size);
  for (auto& byte : block) byte = static_cast<std::uint8_t>(rng());
  return block;
}

// The parity liberasurecode_encode itself gives, the reference for both engines.
std::vector<Bytes> reference_parity(std::string_view backend_name, KM km, const std::vector<Bytes>& data) {
  const internal::Backend* backend = internal::find_backend(backend_name);
  auto instance = internal::Instance::create(*backend, km.k, km.m);  // pooled for jerasure and rs_vand
  EXPECT_TRUE(instance.ok()) << instance.error().message;
  const std::size_t block_size = data[0].size();
  Bytes input;
  for (const Bytes& block : data) input.insert(input.end(), block.begin(), block.end());
  char** data_fragments = nullptr;
  char** parity_fragments = nullptr;
  std::uint64_t fragment_size = 0;
  internal::CallLock lock = instance->lock_for_api();
  EXPECT_EQ(liberasurecode_encode(instance->descriptor(), reinterpret_cast<const char*>(input.data()), input.size(),
                                  &data_fragments, &parity_fragments, &fragment_size),
            0);
  EXPECT_EQ(fragment_size, block_size + 80);
  for (std::uint32_t i = 0; i < km.k; ++i)  // a data payload is its block
    EXPECT_EQ(std::memcmp(data_fragments[i] + 80, data[i].data(), block_size), 0) << "row " << i;
  std::vector<Bytes> parity;
  for (std::uint32_t i = 0; i < km.m; ++i)
    parity.emplace_back(parity_fragments[i] + 80, parity_fragments[i] + 80 + block_size);
  liberasurecode_encode_cleanup(instance->descriptor(), data_fragments, parity_fragments);
  return parity;
}

// ErasureCoder's two calls over either engine.
class Coder {
 public:
  static Coder public_api(std::string_view backend, KM km, std::size_t block_size) {
    Coder coder;
    auto opened = ErasureCoder::open(backend, km.k, km.m, block_size);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    if (opened.ok()) coder.coder_ = std::make_unique<ErasureCoder>(std::move(*opened));
    return coder;
  }
  static Coder engine(std::string_view backend, KM km, std::size_t block_size, internal::EngineKind kind) {
    Coder coder;
    auto opened = internal::open_engine({internal::find_backend(backend), km.k, km.m, block_size}, kind);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    if (opened.ok()) coder.engine_ = std::move(*opened);
    return coder;
  }
  bool ok() const { return coder_ != nullptr || engine_ != nullptr; }

  Status encode(std::span<const std::uint8_t* const> data, std::span<std::uint8_t* const> parity) {
    if (coder_) return coder_->encode(data, parity);
    return engine_->encode(data.data(), parity.data());
  }
  Status reconstruct(std::span<const std::uint8_t* const> rows, std::span<std::uint8_t* const> out) {
    if (coder_) return coder_->reconstruct(rows, out);
    return engine_->rebuild(rows.data(), out.data());
  }

 private:
  std::unique_ptr<ErasureCoder> coder_;
  std::unique_ptr<internal::CodingEngine> engine_;
};

struct Group {
  std::vector<Bytes> rows;  // k data then m parity
};

Group encode_random_group(Coder& coder, std::string_view backend, KM km, std::size_t block_size,
                          std::mt19937_64& rng) {
  Group group;
  std::vector<const std::uint8_t*> data;
  std::vector<std::uint8_t*> parity;
  for (std::uint32_t i = 0; i < km.k; ++i) group.rows.push_back(random_block(rng, block_size));
  for (std::uint32_t i = 0; i < km.m; ++i) group.rows.emplace_back(block_size, 0xA5);  // garbage to overwrite
  for (std::uint32_t i = 0; i < km.k; ++i) data.push_back(group.rows[i].data());
  for (std::uint32_t i = 0; i < km.m; ++i) parity.push_back(group.rows[km.k + i].data());
  const std::vector<Bytes> data_copy(group.rows.begin(), group.rows.begin() + km.k);
  auto status = coder.encode(data, parity);
  EXPECT_TRUE(status.ok()) << status.error().message;
  for (std::uint32_t i = 0; i < km.k; ++i) EXPECT_EQ(group.rows[i], data_copy[i]) << "encode wrote data row " << i;
  const auto expected = reference_parity(backend, km, data_copy);
  for (std::uint32_t i = 0; i < km.m; ++i) EXPECT_EQ(group.rows[km.k + i], expected[i]) << "parity " << i;
  return group;
}

// Loses `lost` rows, asks for those in `wanted` (all lost rows if empty) and
// checks the answer, that present rows are untouched and unwanted outputs too.
void check_rebuild(Coder& coder, const Group& group, const std::vector<std::uint32_t>& lost,
                   std::vector<std::uint32_t> wanted, const std::string& what) {
  if (wanted.empty()) wanted = lost;
  const std::size_t n = group.rows.size();
  const std::size_t block_size = group.rows[0].size();
  std::vector<Bytes> present = group.rows;
  std::vector<Bytes> outputs(n, Bytes(block_size, 0xA5));
  std::vector<const std::uint8_t*> rows(n);
  std::vector<std::uint8_t*> out(n, nullptr);
  for (std::size_t r = 0; r < n; ++r) rows[r] = present[r].data();
  for (std::uint32_t r : lost) rows[r] = nullptr;
  for (std::uint32_t r : wanted) out[r] = outputs[r].data();
  auto status = coder.reconstruct(rows, out);
  ASSERT_TRUE(status.ok()) << what << ": " << status.error().message;
  for (std::size_t r = 0; r < n; ++r) {
    const bool is_lost = std::find(lost.begin(), lost.end(), r) != lost.end();
    const bool is_wanted = std::find(wanted.begin(), wanted.end(), r) != wanted.end();
    if (!is_lost) {
      EXPECT_EQ(present[r], group.rows[r]) << what << ": present row " << r << " was written";
    } else if (is_wanted) {
      EXPECT_EQ(outputs[r], group.rows[r]) << what << ": row " << r << " rebuilt wrong";
    } else {
      EXPECT_EQ(outputs[r], Bytes(block_size, 0xA5)) << what << ": unwanted row " << r << " was written";
    }
  }
}

std::string describe(std::string_view backend, KM km, const std::vector<std::uint32_t>& lost) {
  std::string text = fmt::format("{} K={} M={} lost", backend, km.k, km.m);
  for (std::uint32_t r : lost) text += fmt::format(" {}", r);
  return text;
}

// Single losses, all parity, the first data rows, random mixes of 1..M rows,
// a partial request, and one row too many.
void sweep(Coder& coder, std::string_view backend, KM km, std::size_t block_size, std::mt19937_64& rng) {
  const Group group = encode_random_group(coder, backend, km, block_size, rng);
  const std::uint32_t n = km.k + km.m;
  std::vector<std::vector<std::uint32_t>> patterns;
  for (std::uint32_t r = 0; r < n; ++r) patterns.push_back({r});
  std::vector<std::uint32_t> all_parity(km.m);
  std::iota(all_parity.begin(), all_parity.end(), km.k);
  patterns.push_back(all_parity);
  std::vector<std::uint32_t> first_data(std::min(km.k, km.m));  // all data when K <= M
  std::iota(first_data.begin(), first_data.end(), 0);
  patterns.push_back(first_data);
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  for (int i = 0; i < 12; ++i) {
    std::shuffle(order.begin(), order.end(), rng);
    const std::uint32_t count = 1 + static_cast<std::uint32_t>(rng() % km.m);
    patterns.emplace_back(order.begin(), order.begin() + count);
  }
  for (const auto& lost : patterns) check_rebuild(coder, group, lost, {}, describe(backend, km, lost));

  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::uint32_t> lost(order.begin(), order.begin() + km.m);
  check_rebuild(coder, group, lost, {lost[0]}, describe(backend, km, lost) + " (one wanted)");

  if (km.m + 1 <= n) {
    std::vector<std::uint32_t> too_many(order.begin(), order.begin() + km.m + 1);
    std::vector<const std::uint8_t*> rows(n);
    std::vector<Bytes> outputs(n, Bytes(block_size));
    std::vector<std::uint8_t*> out(n, nullptr);
    for (std::uint32_t r = 0; r < n; ++r) rows[r] = group.rows[r].data();
    for (std::uint32_t r : too_many) rows[r] = nullptr, out[r] = outputs[r].data();
    auto status = coder.reconstruct(rows, out);
    ASSERT_FALSE(status.ok()) << describe(backend, km, too_many);
    EXPECT_EQ(status.error().code, Errc::unrecoverable);
    EXPECT_EQ(status.error().message, fmt::format("only {} of {} blocks present, need {}", km.k - 1, n, km.k));
  }
}

TEST(ErasureCoderBackends, KnownAvailableAndDefault) {
  const auto known = known_backends();
  EXPECT_EQ(known, (std::vector<std::string>{"isa_l_rs_cauchy", "isa_l_rs_vand", "jerasure_rs_vand",
                                             "jerasure_rs_cauchy", "liberasurecode_rs_vand"}));
  const auto available = available_backends();
  for (const auto& name : available) EXPECT_NE(std::find(known.begin(), known.end(), name), known.end());
  // Built into liberasurecode1 itself.
  EXPECT_NE(std::find(available.begin(), available.end(), "liberasurecode_rs_vand"), available.end());
  auto chosen = default_backend();
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_NE(std::find(available.begin(), available.end(), *chosen), available.end());
  std::string list;
  for (const auto& name : available) list += " " + name;
  RecordProperty("available_backends", list);
}

TEST(ErasureCoderOpen, RejectsBadGeometries) {
  struct Case {
    std::string backend;
    std::uint32_t k, m;
    std::size_t block_size;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"liberasurecode_rs_vand", 0, 2, 4096, "K must be at least 1 (got 0)"},
      {"liberasurecode_rs_vand", 4, 0, 4096, "M must be at least 1 (got 0)"},
      {"liberasurecode_rs_vand", 17, 16, 4096, "K+M must be at most 32 with liberasurecode 1.6.2 (got 17+16=33)"},
      {"liberasurecode_rs_vand", 4, 2, 0, "block size 0 is not a positive multiple of 64"},
      {"liberasurecode_rs_vand", 4, 2, 1000, "block size 1000 is not a positive multiple of 64"},
      {"reed_solomon", 4, 2, 4096, "unknown erasure backend 'reed_solomon' (known: isa_l_rs_cauchy, isa_l_rs_vand, "
                                   "jerasure_rs_vand, jerasure_rs_cauchy, liberasurecode_rs_vand)"},
      {"isa_l_rs_vand", 10, 5, 4096, "backend 'isa_l_rs_vand' cannot rebuild every loss of 5 blocks"},
      {"jerasure_rs_cauchy", 12, 5, 4096, "backend 'jerasure_rs_cauchy' supports K+M up to 16 (got 12+5=17)"},
  };
  for (const auto& c : cases) {
    auto coder = ErasureCoder::open(c.backend, c.k, c.m, c.block_size);
    ASSERT_FALSE(coder.ok()) << c.message;
    EXPECT_EQ(coder.error().code, Errc::usage);
    EXPECT_EQ(coder.error().message.substr(0, c.message.size()), c.message);
  }
  const auto available = available_backends();
  if (std::find(available.begin(), available.end(), "jerasure_rs_cauchy") != available.end()) {
    auto coder = ErasureCoder::open("jerasure_rs_cauchy", 4, 2, 2048);
    ASSERT_FALSE(coder.ok());
    EXPECT_EQ(coder.error().code, Errc::usage);
    EXPECT_EQ(coder.error().message,
              "block size 2048 does not suit backend 'jerasure_rs_cauchy': it needs a multiple of 4096 bytes");
  }
}

TEST(ErasureCoderOpen, ReportsWhatItOpened) {
  auto coder = ErasureCoder::open("liberasurecode_rs_vand", 3, 2, 64);
  ASSERT_TRUE(coder.ok()) << coder.error().message;
  EXPECT_EQ(coder->backend(), "liberasurecode_rs_vand");
  EXPECT_EQ(coder->k(), 3u);
  EXPECT_EQ(coder->m(), 2u);
  EXPECT_EQ(coder->block_size(), 64u);
}

TEST(ErasureCoderRoundTrip, EveryBackendAndGeometry) {
  std::mt19937_64 rng(1);
  for (const auto& backend : available_backends())
    for (KM km : kGeometries) {
      if (!backend_takes(backend, km)) continue;
      Coder coder = Coder::public_api(backend, km, 4096);
      ASSERT_TRUE(coder.ok());
      sweep(coder, backend, km, 4096, rng);
    }
}

TEST(ErasureCoderRoundTrip, FragmentsEngineMatches) {
  std::mt19937_64 rng(2);
  for (const auto& backend : available_backends())
    for (KM km : kGeometries) {
      if (!backend_takes(backend, km)) continue;
      Coder coder = Coder::engine(backend, km, 4096, internal::EngineKind::fragments);
      ASSERT_TRUE(coder.ok());
      sweep(coder, backend, km, 4096, rng);
    }
}

TEST(ErasureCoderRoundTrip, LargeBlocks) {
  std::mt19937_64 rng(3);
  for (const auto& backend : available_backends())
    for (KM km : {KM{4, 2}, KM{10, 4}}) {
      Coder coder = Coder::public_api(backend, km, 65536);
      ASSERT_TRUE(coder.ok());
      const Group group = encode_random_group(coder, backend, km, 65536, rng);
      check_rebuild(coder, group, {0, km.k}, {}, describe(backend, km, {0, km.k}));
      std::vector<std::uint32_t> lost(km.m);
      std::iota(lost.begin(), lost.end(), km.k / 2);
      check_rebuild(coder, group, lost, {}, describe(backend, km, lost));
    }
}

TEST(ErasureCoderRoundTrip, CauchyRebuildsEveryLossOfFiveOrMore) {
  const auto available = available_backends();
  if (std::find(available.begin(), available.end(), "isa_l_rs_cauchy") == available.end())
    GTEST_SKIP() << "isa_l_rs_cauchy does not load here";
  std::mt19937_64 rng(4);
  for (KM km : {KM{5, 5}, KM{6, 6}, KM{10, 6}, KM{12, 8}, KM{16, 16}, KM{20, 12}}) {
    Coder coder = Coder::public_api("isa_l_rs_cauchy", km, 1024);
    ASSERT_TRUE(coder.ok());
    const Group group = encode_random_group(coder, "isa_l_rs_cauchy", km, 1024, rng);
    std::vector<std::uint32_t> order(km.k + km.m);
    std::iota(order.begin(), order.end(), 0);
    for (int i = 0; i < 150; ++i) {
      std::shuffle(order.begin(), order.end(), rng);
      std::vector<std::uint32_t> lost(order.begin(), order.begin() + km.m);
      check_rebuild(coder, group, lost, {}, describe("isa_l_rs_cauchy", km, lost));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(ErasureCoderRoundTrip, UnalignedBuffers) {
  std::mt19937_64 rng(5);
  const std::size_t block_size = 4096;
  for (const auto& backend : available_backends()) {
    const KM km{4, 2};
    Coder coder = Coder::public_api(backend, km, block_size);
    ASSERT_TRUE(coder.ok());
    // One arena, every row at an odd offset.
    Bytes arena((km.k + km.m) * (block_size + 8) + 8);
    std::vector<std::uint8_t*> rows;
    for (std::uint32_t r = 0; r < km.k + km.m; ++r) rows.push_back(arena.data() + 1 + r * (block_size + 8) + r % 3);
    std::vector<Bytes> data;
    for (std::uint32_t i = 0; i < km.k; ++i) {
      data.push_back(random_block(rng, block_size));
      std::memcpy(rows[i], data[i].data(), block_size);
    }
    std::vector<const std::uint8_t*> inputs(rows.begin(), rows.begin() + km.k);
    std::vector<std::uint8_t*> parity(rows.begin() + km.k, rows.end());
    ASSERT_TRUE(coder.encode(inputs, parity).ok());
    const auto expected = reference_parity(backend, km, data);
    for (std::uint32_t i = 0; i < km.m; ++i)
      EXPECT_EQ(Bytes(parity[i], parity[i] + block_size), expected[i]) << backend << " parity " << i;

    Bytes rebuilt_arena(2 * block_size + 16);
    std::vector<const std::uint8_t*> present(rows.begin(), rows.end());
    std::vector<std::uint8_t*> out(km.k + km.m, nullptr);
    present[1] = present[4] = nullptr;
    out[1] = rebuilt_arena.data() + 3;
    out[4] = rebuilt_arena.data() + block_size + 9;
    ASSERT_TRUE(coder.reconstruct(present, out).ok());
    EXPECT_EQ(Bytes(out[1], out[1] + block_size), data[1]) << backend;
    EXPECT_EQ(Bytes(out[4], out[4] + block_size), expected[0]) << backend;
  }
}

TEST(ErasureCoderReconstruct, NothingWantedOrWrongShape) {
  auto coder = ErasureCoder::open("liberasurecode_rs_vand", 2, 1, 64);
  ASSERT_TRUE(coder.ok());
  Bytes a(64, 1), b(64, 2);
  std::vector<const std::uint8_t*> rows = {a.data(), nullptr, b.data()};
  std::vector<std::uint8_t*> none(3, nullptr);
  EXPECT_TRUE(coder->reconstruct(rows, none).ok());
  std::vector<const std::uint8_t*> too_few = {a.data(), nullptr, nullptr};
  auto status = coder->reconstruct(too_few, none);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, Errc::unrecoverable);
  EXPECT_EQ(status.error().message, "only 1 of 3 blocks present, need 2");
  EXPECT_EQ(coder->reconstruct(std::span(rows).first(2), std::span(none).first(2)).error().code, Errc::failure);
  std::vector<std::uint8_t*> parity = {nullptr};
  std::vector<const std::uint8_t*> data = {a.data(), b.data()};
  EXPECT_EQ(coder->encode(data, parity).error().code, Errc::failure);
}

TEST(ErasureCoderLifetime, MovedCoderKeepsCoding) {
  std::mt19937_64 rng(6);
  const std::string backend = *default_backend();
  Coder unused = Coder::public_api(backend, {4, 2}, 4096);  // a second instance alive meanwhile
  auto opened = ErasureCoder::open(backend, 4, 2, 4096);
  ASSERT_TRUE(opened.ok());
  ErasureCoder moved = std::move(*opened);
  ErasureCoder assigned = std::move(moved);
  std::vector<Bytes> data = {random_block(rng, 4096), random_block(rng, 4096), random_block(rng, 4096),
                             random_block(rng, 4096)};
  std::vector<Bytes> parity(2, Bytes(4096));
  std::vector<const std::uint8_t*> in = {data[0].data(), data[1].data(), data[2].data(), data[3].data()};
  std::vector<std::uint8_t*> out = {parity[0].data(), parity[1].data()};
  ASSERT_TRUE(assigned.encode(in, out).ok());
  EXPECT_EQ(parity, reference_parity(backend, {4, 2}, data));
}

// liberasurecode 1.6.2 frees liberasurecode_rs_vand's Galois tables and
// jerasure's gf-complete fields when any instance of them is destroyed; ours
// are pooled and kept instead.
TEST(ErasureCoderLifetime, ClosingOneCoderSparesTheOthers) {
  std::mt19937_64 rng(7);
  for (const auto& backend : available_backends()) {
    auto keeper = ErasureCoder::open(backend, 4, 2, 4096);
    ASSERT_TRUE(keeper.ok());
    for (KM km : {KM{4, 2}, KM{5, 3}}) {
      auto closed = ErasureCoder::open(backend, km.k, km.m, 4096);
      ASSERT_TRUE(closed.ok());
    }
    std::vector<Bytes> reuse_freed_memory(16, Bytes(1 << 18, 0x5A));
    std::vector<Bytes> data = {random_block(rng, 4096), random_block(rng, 4096), random_block(rng, 4096),
                               random_block(rng, 4096)};
    std::vector<Bytes> parity(2, Bytes(4096));
    std::vector<const std::uint8_t*> in = {data[0].data(), data[1].data(), data[2].data(), data[3].data()};
    std::vector<std::uint8_t*> out = {parity[0].data(), parity[1].data()};
    ASSERT_TRUE(keeper->encode(in, out).ok());
    EXPECT_EQ(parity, reference_parity(backend, {4, 2}, data)) << backend;
  }
}

TEST(ErasureCoderThreads, OneCoderPerThread) {
  const auto backends = available_backends();
  auto work = [&](std::uint64_t seed, bool* ok) {
    std::mt19937_64 rng(seed);
    const KM km{6, 3};
    for (int round = 0; round < 4; ++round)
      for (const auto& backend : backends) {
        Coder coder = round % 2 == 0 ? Coder::public_api(backend, km, 4096)
                                     : Coder::engine(backend, km, 4096, internal::EngineKind::fragments);
        if (!coder.ok()) return;
        for (int g = 0; g < 4; ++g) {
          std::vector<Bytes> rows;
          for (std::uint32_t i = 0; i < km.k + km.m; ++i) rows.push_back(random_block(rng, 4096));
          std::vector<const std::uint8_t*> data;
          std::vector<std::uint8_t*> parity;
          for (std::uint32_t i = 0; i < km.k; ++i) data.push_back(rows[i].data());
          for (std::uint32_t i = 0; i < km.m; ++i) parity.push_back(rows[km.k + i].data());
          if (!coder.encode(data, parity).ok()) return;
          std::vector<const std::uint8_t*> present(data.begin(), data.end());
          for (std::uint8_t* p : parity) present.push_back(p);
          Bytes rebuilt(4096);
          std::vector<std::uint8_t*> out(km.k + km.m, nullptr);
          present[2] = nullptr;
          out[2] = rebuilt.data();
          present[7] = nullptr;
          if (!coder.reconstruct(present, out).ok() || rebuilt != rows[2]) return;
        }
      }
    *ok = true;
  };
  bool first = false, second = false;
  std::thread a(work, 10, &first), b(work, 11, &second);
  a.join();
  b.join();
  EXPECT_TRUE(first);
  EXPECT_TRUE(second);
}

// What erasure_fragments.cpp relies on: with CHKSUM_NONE, a fragment header
// depends on the geometry and the row, not on the data.
TEST(ErasureCoderLiberasurecode, ChecksumlessHeadersDependOnlyOnGeometry) {
  std::mt19937_64 rng(8);
  for (const auto& name : available_backends()) {
    const KM km{4, 2};
    auto instance = internal::Instance::create(*internal::find_backend(name), km.k, km.m);
    ASSERT_TRUE(instance.ok());
    internal::CallLock lock = instance->lock_for_api();
    std::vector<Bytes> headers[2];
    for (int pass = 0; pass < 2; ++pass) {
      Bytes input = pass == 0 ? Bytes(4 * 4096, 0) : random_block(rng, 4 * 4096);
      char** data = nullptr;
      char** parity = nullptr;
      std::uint64_t fragment_size = 0;
      ASSERT_EQ(liberasurecode_encode(instance->descriptor(), reinterpret_cast<const char*>(input.data()),
                                      input.size(), &data, &parity, &fragment_size),
                0);
      for (std::uint32_t r = 0; r < km.k + km.m; ++r) {
        const char* fragment = r < km.k ? data[r] : parity[r - km.k];
        headers[pass].emplace_back(fragment, fragment + 80);
      }
      liberasurecode_encode_cleanup(instance->descriptor(), data, parity);
    }
    EXPECT_EQ(headers[0], headers[1]) << name;
  }
}

TEST(ErasureCoderLiberasurecode, RefusalsNameTheErrorCode) {
  EXPECT_EQ(internal::describe_liberasurecode_error(-EINVALIDPARAMS), "-206 EINVALIDPARAMS (invalid parameters)");
  EXPECT_EQ(internal::describe_liberasurecode_error(-12), "-12 (Cannot allocate memory)");
  // Past ErasureCoder::open's own checks, liberasurecode says no itself.
  auto refused = internal::Instance::create(*internal::find_backend("liberasurecode_rs_vand"), 30, 3);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::usage);
  EXPECT_EQ(refused.error().message,
            "liberasurecode refused backend 'liberasurecode_rs_vand' with K=30 M=3: -206 EINVALIDPARAMS (invalid "
            "parameters)");
}

}  // namespace
}  // namespace codex
