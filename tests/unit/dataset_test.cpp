// The data path verbs (dataset.hpp): chunk_stream against the vectors'
// CIDs, the empty input, put_stream's refusals of every malformed or
// mismatched stream (all or nothing: a refused stream leaves no trace), and
// get_dataset round trips.
#include "codex/dataset.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "codex/car.hpp"
#include "codex/io.hpp"

namespace codex {
namespace {

using testing::random_bytes;
using testing::TempDir;

namespace fs = std::filesystem;
using json = nlohmann::json;

const json& vectors() {
  static const json v = [] {
    std::ifstream in(std::string(CODEX_TEST_DATA) + "/codex-vectors.json");
    return json::parse(in);
  }();
  return v;
}

Bytes mod251(std::size_t size) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i % 251);
  return out;
}

struct Entry {
  Cid cid;
  Bytes data;
};

struct Car {
  CarHeader header;
  std::vector<Entry> entries;
};

Car read_car(const Bytes& bytes) {
  MemorySource source(bytes);
  CarReader reader(source);
  Car car;
  auto header = reader.read_header();
  EXPECT_TRUE(header.ok()) << header.error().message;
  if (header.ok()) car.header = *header;
  for (;;) {
    Entry e;
    auto more = reader.next(e.cid, e.data);
    EXPECT_TRUE(more.ok()) << more.error().message;
    if (!more.ok() || !*more) break;
    car.entries.push_back(std::move(e));
  }
  return car;
}

Bytes write_car(const std::vector<Entry>& entries, std::span<const Cid> roots = {}) {
  MemorySink sink;
  CarWriter writer(sink);
  EXPECT_TRUE(writer.write_header(roots).ok());
  for (const Entry& e : entries) EXPECT_TRUE(writer.write_block(e.cid, e.data).ok());
  return sink.bytes;
}

struct Chunked {
  ChunkResult result;
  Bytes car;
};

Chunked chunk(const Bytes& data, std::uint64_t block_size, ManifestFormat format = ManifestFormat::current,
              std::optional<std::string> filename = std::nullopt) {
  Chunked out;
  MemorySource input(data);
  MemorySink sink;
  CarWriter writer(sink);
  ChunkOptions options;
  options.block_size = block_size;
  options.format = format;
  options.filename = filename;
  auto result = chunk_stream(input, &writer, options);
  EXPECT_TRUE(result.ok()) << result.error().message;
  if (result.ok()) out.result = *result;
  out.car = std::move(sink.bytes);
  return out;
}

void check_vector(const std::string& name, const Bytes& input) {
  SCOPED_TRACE(name);
  const json& v = vectors().at(name);
  const std::uint64_t block_size = v.at("blockSize").get<std::uint64_t>();
  for (auto [format, key] : {std::pair{ManifestFormat::current, "A"}, std::pair{ManifestFormat::legacy, "B"}}) {
    SCOPED_TRACE(std::string("manifest format ") + key);
    Chunked c = chunk(input, block_size, format);
    EXPECT_EQ(c.result.manifest_cid.to_string(), v.at(std::string("manifest_") + key + "_cid").get<std::string>());
    EXPECT_EQ(c.result.manifest.tree.to_string(), v.at("tree_cid").get<std::string>());
    const auto& block_cids = v.at("block_cids");
    EXPECT_EQ(c.result.blocks, block_cids.size());
    // The stream: every block in order, then the manifest, empty roots.
    Car car = read_car(c.car);
    EXPECT_TRUE(car.header.roots.empty());
    ASSERT_EQ(car.entries.size(), block_cids.size() + 1);
    for (std::size_t i = 0; i < block_cids.size(); ++i) {
      EXPECT_EQ(car.entries[i].cid.to_string(), block_cids[i].get<std::string>()) << "block " << i;
      EXPECT_EQ(car.entries[i].data.size(), block_size) << "block " << i << " not padded to the block size";
      EXPECT_EQ(block_cid(car.entries[i].data), car.entries[i].cid);
    }
    const Entry& manifest = car.entries.back();
    EXPECT_EQ(manifest.cid, c.result.manifest_cid);
    EXPECT_EQ(to_hex(manifest.data), v.at(std::string("manifest_") + key + "_hex").get<std::string>());
    // Without output, the same manifest.
    MemorySource again(input);
    ChunkOptions options;
    options.block_size = block_size;
    options.format = format;
    auto only = chunk_stream(again, nullptr, options);
    ASSERT_TRUE(only.ok());
    EXPECT_EQ(only->manifest_cid, c.result.manifest_cid);
  }
}

TEST(DatasetChunkTest, MatchesTheVectors) {
  check_vector("dataset_hello", Bytes{'h', 'e', 'l', 'l', 'o'});
  check_vector("dataset_200000_mod251", mod251(200000));
  check_vector("dataset_10000_mod251_bs4096", mod251(10000));
}

TEST(DatasetChunkTest, NamedVector) {
  const json& v = vectors().at("dataset_hello_named");
  // chunk_stream takes the mimetype as given; the tool derives it from the name.
  MemorySource input(Bytes{'h', 'e', 'l', 'l', 'o'});
  ChunkOptions options;
  options.filename = "hello.txt";
  options.mimetype = "text/plain";
  auto named = chunk_stream(input, nullptr, options);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->manifest_cid.to_string(), v.at("manifest_A_cid").get<std::string>());
}

TEST(DatasetChunkTest, EmptyInputIsOneZeroBlock) {
  for (std::uint64_t block_size : {std::uint64_t{4096}, std::uint64_t{65536}}) {
    Chunked c = chunk({}, block_size);
    EXPECT_EQ(c.result.blocks, 1u);
    EXPECT_EQ(c.result.manifest.dataset_size, 0u);
    EXPECT_EQ(c.result.manifest.block_count(), 1u);
    Car car = read_car(c.car);
    ASSERT_EQ(car.entries.size(), 2u);
    EXPECT_EQ(car.entries[0].data, Bytes(block_size, 0));
    EXPECT_EQ(car.entries[1].cid, c.result.manifest_cid);
    // It round-trips to zero bytes.
    TempDir tmp;
    auto repo = Repository::open(tmp.path() + "/repo");
    ASSERT_TRUE(repo.ok());
    MemorySource input(c.car);
    auto put = put_stream(**repo, input, PutOptions{});
    ASSERT_TRUE(put.ok()) << put.error().message;
    EXPECT_EQ(put->manifest_cid, c.result.manifest_cid);
    MemorySink out;
    auto got = get_dataset(**repo, *repository_source(**repo), c.result.manifest_cid, out, GetOptions{});
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->bytes, 0u);
    EXPECT_TRUE(out.bytes.empty());
  }
}

TEST(DatasetChunkTest, RefusesBadBlockSizes) {
  for (std::uint64_t block_size : {std::uint64_t{0}, kMaxBlockSize + 1}) {
    MemorySource input(Bytes{1, 2, 3});
    ChunkOptions options;
    options.block_size = block_size;
    auto result = chunk_stream(input, nullptr, options);
    ASSERT_FALSE(result.ok()) << "block size " << block_size;
    EXPECT_EQ(result.error().code, Errc::usage);
  }
}

TEST(DatasetGetTest, RoundTrips) {
  TempDir tmp;
  auto repo = Repository::open(tmp.path() + "/repo");
  ASSERT_TRUE(repo.ok());
  std::mt19937_64 rng(11);
  for (std::size_t size : {std::size_t{1}, std::size_t{4095}, std::size_t{4096}, std::size_t{4097},
                           std::size_t{10 * 4096 + 123}, std::size_t{300000}}) {
    for (ManifestFormat format : {ManifestFormat::current, ManifestFormat::legacy}) {
      SCOPED_TRACE(fmt::format("size {} format {}", size, manifest_format_name(format)));
      const Bytes data = random_bytes(rng, size);
      Chunked c = chunk(data, 4096, format);
      MemorySource input(c.car);
      auto put = put_stream(**repo, input, PutOptions{});
      ASSERT_TRUE(put.ok()) << put.error().message;
      EXPECT_EQ(put->manifest_cid, c.result.manifest_cid);
      EXPECT_EQ(put->blocks_received, c.result.blocks);
      EXPECT_EQ(put->blocks_stored, c.result.blocks);
      MemorySink out;
      auto got = get_dataset(**repo, *repository_source(**repo), put->manifest_cid, out, GetOptions{});
      ASSERT_TRUE(got.ok()) << got.error().message;
      EXPECT_EQ(got->bytes, size);
      EXPECT_TRUE(out.bytes == data);
      EXPECT_TRUE(got->rebuilt.empty());
      // Again: harmless, nothing new stored.
      MemorySource again(c.car);
      auto reput = put_stream(**repo, again, PutOptions{});
      ASSERT_TRUE(reput.ok()) << reput.error().message;
      EXPECT_EQ(reput->blocks_stored, 0u);
      EXPECT_EQ(reput->bytes_written, 0u);
    }
  }
}

TEST(DatasetGetTest, UnknownAndWrongCids) {
  TempDir tmp;
  auto repo = Repository::open(tmp.path() + "/repo");
  ASSERT_TRUE(repo.ok());
  MemorySink out;
  auto cid = Cid::parse(vectors().at("dataset_hello").at("manifest_A_cid").get<std::string>());
  ASSERT_TRUE(cid.ok());
  auto got = get_dataset(**repo, *repository_source(**repo), *cid, out, GetOptions{});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::not_found);
  auto block = Cid::parse(vectors().at("dataset_hello").at("block_cids")[0].get<std::string>());
  ASSERT_TRUE(block.ok());
  got = get_dataset(**repo, *repository_source(**repo), *block, out, GetOptions{});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, Errc::usage) << got.error().message;
  EXPECT_TRUE(out.bytes.empty());
}

// put_stream refusals: each must fail with Errc::corrupt and leave the
// repository as it was (no dataset, no block, no pack bytes).
class DatasetPutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(12);
    data_ = random_bytes(rng, 5 * 4096 + 100);
    good_ = chunk(data_, 4096);
    other_ = chunk(random_bytes(rng, 3 * 4096), 4096);
    car_ = read_car(good_.car);
    ASSERT_EQ(car_.entries.size(), 7u);  // 6 blocks + manifest
  }

  void expect_refused(const Bytes& stream, const std::string& what, Errc code = Errc::corrupt) {
    SCOPED_TRACE(what);
    TempDir tmp;
    const std::string dir = tmp.path() + "/repo";
    auto repo = Repository::open(dir);
    ASSERT_TRUE(repo.ok());
    MemorySource input(stream);
    auto put = put_stream(**repo, input, PutOptions{});
    ASSERT_FALSE(put.ok()) << what << " was accepted";
    EXPECT_EQ(put.error().code, code) << put.error().message;
    EXPECT_FALSE(put.error().message.empty());
    auto all = (*repo)->datasets();
    ASSERT_TRUE(all.ok());
    EXPECT_TRUE(all->empty()) << "a refused stream left a dataset";
    for (const Entry& e : car_.entries) {
      if (auto digest = e.cid.sha256_digest()) {
        auto location = (*repo)->locate_block(*digest);
        ASSERT_TRUE(location.ok());
        EXPECT_FALSE(location->has_value()) << "a refused stream left block " << e.cid.to_string();
      }
    }
    std::uintmax_t pack_bytes = 0;
    for (const auto& file : fs::directory_iterator(dir + "/packs")) pack_bytes += fs::file_size(file.path());
    EXPECT_EQ(pack_bytes, 0u) << "a refused stream left bytes in a pack";
  }

  std::vector<Entry> entries() const { return car_.entries; }

  Bytes data_;
  Chunked good_, other_;
  Car car_;
};

TEST_F(DatasetPutTest, AcceptsTheGoodStream) {
  TempDir tmp;
  auto repo = Repository::open(tmp.path() + "/repo");
  ASSERT_TRUE(repo.ok());
  MemorySource input(good_.car);
  auto put = put_stream(**repo, input, PutOptions{});
  ASSERT_TRUE(put.ok()) << put.error().message;
  // Also with the manifest named as the header's root.
  const Cid roots[] = {good_.result.manifest_cid};
  MemorySource rooted(write_car(entries(), roots));
  auto put2 = put_stream(**repo, rooted, PutOptions{});
  EXPECT_TRUE(put2.ok()) << put2.error().message;
}

TEST_F(DatasetPutTest, RefusesTruncatedStreams) {
  const Bytes& car = good_.car;
  // Inside the header, inside a section's length, CID and data, and exactly
  // at a section boundary (no manifest).
  std::vector<std::size_t> cuts = {0, 1, 10, 17, 18, 19, 25, 60, 18 + 4096, car.size() - 1, car.size() - 50};
  // Section boundaries: the stream cut right after block i.
  std::size_t boundary = 18;
  for (std::size_t i = 0; i + 1 < car_.entries.size(); ++i) {
    const std::size_t section = car_.entries[i].cid.bytes().size() + car_.entries[i].data.size();
    boundary += (section < 128 ? 1 : section < 16384 ? 2 : 3) + section;
    cuts.push_back(boundary);
  }
  for (std::size_t cut : cuts) {
    ASSERT_LT(cut, car.size());
    expect_refused(Bytes(car.begin(), car.begin() + static_cast<std::ptrdiff_t>(cut)),
                   fmt::format("stream cut at byte {} of {}", cut, car.size()));
  }
}

TEST_F(DatasetPutTest, RefusesABlockNotMatchingItsCid) {
  for (std::size_t i : {std::size_t{0}, std::size_t{3}, std::size_t{5}}) {
    auto e = entries();
    e[i].data[e[i].data.size() / 2] ^= 1;
    expect_refused(write_car(e), fmt::format("block {} flipped", i));
  }
  // A manifest block not matching its CID.
  auto e = entries();
  e.back().data[3] ^= 1;
  expect_refused(write_car(e), "manifest flipped");
}

TEST_F(DatasetPutTest, RefusesWrongManifests) {
  Car other = read_car(other_.car);
  {
    auto e = entries();
    e.back() = other.entries.back();  // another dataset's (valid) manifest
    expect_refused(write_car(e), "another dataset's manifest");
  }
  {
    // The manifest of the same bytes cut into other blocks.
    Chunked bigger = chunk(data_, 8192);
    auto e = entries();
    e.back() = read_car(bigger.car).entries.back();
    expect_refused(write_car(e), "manifest of the same bytes in 8192-byte blocks");
  }
  {
    auto e = entries();
    e.pop_back();  // no manifest at all
    expect_refused(write_car(e), "no manifest");
  }
  {
    auto e = entries();
    e.erase(e.begin() + 2);  // a block missing
    expect_refused(write_car(e), "a block dropped");
  }
  {
    auto e = entries();
    std::swap(e[1], e[2]);  // blocks out of order
    expect_refused(write_car(e), "two blocks swapped");
  }
  {
    auto e = entries();
    e.insert(e.begin() + 1, e[1]);  // a block repeated
    expect_refused(write_car(e), "a block repeated");
  }
  {
    // A manifest that is not a manifest: garbage under a codex-manifest CID.
    auto e = entries();
    Bytes garbage = {0x0a, 0x03, 0x01, 0x02};
    e.back() = Entry{manifest_cid(garbage), garbage};
    expect_refused(write_car(e), "garbage manifest");
  }
  {
    // An entry that is neither a block nor a manifest.
    auto e = entries();
    Bytes raw = {1, 2, 3};
    e.insert(e.begin() + 1, Entry{Cid::from_digest(codec::root, sha256(raw)), raw});
    expect_refused(write_car(e), "a codex-root entry among the blocks");
  }
}

TEST_F(DatasetPutTest, RefusesEntriesAfterTheManifest) {
  {
    auto e = entries();
    e.push_back(e[0]);
    expect_refused(write_car(e), "a block after the manifest");
  }
  {
    auto e = entries();
    e.push_back(e.back());
    expect_refused(write_car(e), "the manifest twice");
  }
  {
    // Another whole dataset after the first.
    auto e = entries();
    Car other = read_car(other_.car);
    e.insert(e.end(), other.entries.begin(), other.entries.end());
    expect_refused(write_car(e), "two datasets in one stream");
  }
}

TEST_F(DatasetPutTest, RefusesAHeaderRootNotTheManifest) {
  {
    const Cid roots[] = {other_.result.manifest_cid};
    expect_refused(write_car(entries(), roots), "root names another manifest");
  }
  {
    const Cid roots[] = {good_.result.manifest_cid, other_.result.manifest_cid};
    expect_refused(write_car(entries(), roots), "two roots");
  }
  {
    const Cid roots[] = {car_.entries[0].cid};
    expect_refused(write_car(entries(), roots), "root is a block");
  }
}

TEST_F(DatasetPutTest, RefusesGarbage) {
  expect_refused(Bytes{}, "empty input");
  expect_refused(Bytes{0x00}, "a zero-length header");
  Bytes garbage(1000, 0xff);
  expect_refused(garbage, "0xff bytes");
}

}  // namespace
}  // namespace codex

namespace codex {
namespace {

// Hostile streams cost a small constant: each entry is judged by its CID and
// claimed size before its bytes are read, so a stream that claims a block
// larger than any block size, or a huge identity CID, is refused at once
// (the error says so, not "truncated": nothing was read or allocated for it).
TEST(DatasetPutLimits, EntriesAreJudgedBeforeTheirBytesAreRead) {
  auto put = [](const Bytes& stream) {
    TempDir tmp;
    auto repo = Repository::open(tmp.path() + "/repo");
    EXPECT_TRUE(repo.ok());
    MemorySource input(stream);
    auto result = put_stream(**repo, input, PutOptions{});
    EXPECT_FALSE(result.ok());
    return result.ok() ? std::string() : result.error().message;
  };
  const Bytes header = encode_car_header_with_length({});
  auto section = [](std::uint64_t length, const Bytes& cid) {
    Bytes out;
    for (std::uint64_t v = length;; v >>= 7) {
      out.push_back(static_cast<std::uint8_t>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)));
      if (v < 0x80) break;
    }
    out.insert(out.end(), cid.begin(), cid.end());
    return out;
  };
  // A codex-block claiming 12 MiB; only 100 bytes follow.
  Bytes big = header;
  const Cid block = block_cid(as_bytes("x"));
  Bytes claim = section(block.bytes().size() + (12u << 20), block.bytes());
  big.insert(big.end(), claim.begin(), claim.end());
  big.resize(big.size() + 100, 0);
  EXPECT_NE(put(big).find("larger than any block size"), std::string::npos) << put(big);
  // A codex-block CID with a 16 MiB identity digest; nothing follows.
  Bytes identity = header;
  Bytes cid = {0x01, 0x82, 0x9a, 0x03, 0x00, 0x80, 0x80, 0x80, 0x08};
  Bytes claim2 = section((16u << 20) - 1, cid);
  identity.insert(identity.end(), claim2.begin(), claim2.end());
  EXPECT_NE(put(identity).find("identity with a 16777216-byte digest"), std::string::npos) << put(identity);
  // A manifest claiming 2 MiB.
  Bytes manifest = header;
  const Cid manifest_id = Cid::from_digest(codec::manifest, Digest{});
  Bytes claim3 = section(manifest_id.bytes().size() + (2u << 20), manifest_id.bytes());
  manifest.insert(manifest.end(), claim3.begin(), claim3.end());
  EXPECT_NE(put(manifest).find("over the limit"), std::string::npos) << put(manifest);
}

}  // namespace
}  // namespace codex
