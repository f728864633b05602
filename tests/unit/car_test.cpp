// CARv1 streams: exact header bytes, round trips, and hostile input (every
// truncation point, garbage, CARv2, oversized lengths, bad CIDs).
#include "codex/car.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "codex/varint.hpp"

namespace codex {
namespace {

Bytes hex(std::string_view text) {
  auto bytes = from_hex(text);
  EXPECT_TRUE(bytes) << text;
  return bytes ? *bytes : Bytes{};
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes pattern(std::size_t size, std::uint8_t seed) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i * 31 + seed);
  return out;
}

// Hands out at most `step` bytes per call, as a pipe may.
class TrickleSource : public ByteSource {
 public:
  TrickleSource(Bytes data, std::size_t step) : data_(std::move(data)), step_(step) {}
  Result<std::size_t> read_some(MutableByteView out) override {
    std::size_t n = std::min({out.size(), step_, data_.size() - pos_});
    std::copy_n(data_.begin() + pos_, n, out.begin());
    pos_ += n;
    return n;
  }
  std::string name() const override { return "trickle"; }

 private:
  Bytes data_;
  std::size_t pos_ = 0;
  std::size_t step_;
};

// Fails with an I/O error after `good` bytes.
class FaultySource : public ByteSource {
 public:
  FaultySource(Bytes data, std::size_t good) : data_(std::move(data)), good_(good) {}
  Result<std::size_t> read_some(MutableByteView out) override {
    if (pos_ >= good_) return make_error(Errc::io, "read failed: disk on fire");
    std::size_t n = std::min(out.size(), good_ - pos_);
    std::copy_n(data_.begin() + pos_, n, out.begin());
    pos_ += n;
    return n;
  }
  std::string name() const override { return "faulty"; }

 private:
  Bytes data_;
  std::size_t pos_ = 0;
  std::size_t good_;
};

struct Block {
  Cid cid;
  Bytes data;
};

std::vector<Block> sample_blocks() {
  std::vector<Block> blocks;
  for (Bytes data : {pattern(100, 1), Bytes{}, pattern(65536, 2), pattern(1, 3), pattern(100, 1)}) {
    Cid cid = block_cid(data);
    blocks.push_back({cid, std::move(data)});
  }
  return blocks;
}

// The stream and the offsets at which each section ends (the first is the header's end).
Bytes write_stream(const std::vector<Block>& blocks, std::span<const Cid> roots, std::vector<std::size_t>* boundaries) {
  MemorySink sink;
  CarWriter writer(sink);
  EXPECT_TRUE(writer.write_header(roots).ok());
  if (boundaries) boundaries->push_back(sink.bytes.size());
  for (const Block& b : blocks) {
    EXPECT_TRUE(writer.write_block(b.cid, b.data).ok());
    if (boundaries) boundaries->push_back(sink.bytes.size());
  }
  return sink.bytes;
}

Result<CarHeader> header_of(Bytes stream) {
  MemorySource source(std::move(stream));
  CarReader reader(source);
  return reader.read_header();
}

// A header stream: varint(len) + the given CBOR.
Bytes framed(const Bytes& cbor) {
  Bytes out;
  put_varint(out, cbor.size());
  out.insert(out.end(), cbor.begin(), cbor.end());
  return out;
}

void expect_corrupt(const Result<CarHeader>& r, std::string_view fragment) {
  ASSERT_FALSE(r.ok()) << "expected an error mentioning: " << fragment;
  EXPECT_EQ(r.error().code, Errc::corrupt);
  EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
}

const char* kEmptyHeaderHex = "a265726f6f7473806776657273696f6e01";
const char* kEmptyBlockCidHex =
    "01829a031220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(CarHeader, EmptyRootsBytes) {
  // a2 map(2) | 65 "roots" | 80 array(0) | 67 "version" | 01 = 17 bytes, framed by 0x11.
  EXPECT_EQ(to_hex(encode_car_header({})), kEmptyHeaderHex);
  MemorySink sink;
  CarWriter writer(sink);
  ASSERT_TRUE(writer.write_header({}).ok());
  EXPECT_EQ(to_hex(sink.bytes), std::string("11") + kEmptyHeaderHex);
}

TEST(CarHeader, OneRootBytes) {
  // CID = 01 | 829a03 (0xCD02 codex-block) | 12 20 sha2-256 | 32-byte digest: 38 bytes.
  const Cid& root = empty_block_cid();
  ASSERT_EQ(to_hex(root.bytes()), kEmptyBlockCidHex);
  // a2 | 65 "roots" | 81 array(1) | d8 2a tag(42) | 58 27 bytes(39) | 00 | CID | 67 "version" | 01
  // = 1 + 6 + 1 + 2 + 2 + 1 + 38 + 8 + 1 = 60 = 0x3c.
  const std::string expected = std::string("a265726f6f747381d82a582700") + kEmptyBlockCidHex + "6776657273696f6e01";
  std::vector<Cid> roots{root};
  EXPECT_EQ(to_hex(encode_car_header(roots)), expected);
  MemorySink sink;
  CarWriter writer(sink);
  ASSERT_TRUE(writer.write_header(roots).ok());
  EXPECT_EQ(to_hex(sink.bytes), "3c" + expected);
}

TEST(CarHeader, DecodesWhatItEncodes) {
  std::vector<Cid> roots{empty_block_cid(), block_cid(as_bytes("hello")),
                         Cid::from_digest(codec::manifest, sha256(as_bytes("m")))};
  auto header = decode_car_header(encode_car_header(roots));
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->version, 1u);
  EXPECT_EQ(header->roots, roots);
  auto empty = decode_car_header(encode_car_header({}));
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->roots.empty());
}

TEST(CarHeader, HasOneEncodingRootsFirst) {
  // {"version": 1, "roots": []}: the same header with its keys out of
  // DAG-CBOR order would give one header two encodings.
  auto header = decode_car_header(hex("a26776657273696f6e0165726f6f747380"));
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.error().message.find("\"roots\" after \"version\""), std::string::npos) << header.error().message;
}

TEST(CarHeader, RefusesCarV2Pragma) {
  // The CARv2 pragma: varint(10) {"version": 2}.
  expect_corrupt(header_of(hex("0aa16776657273696f6e02")),
                 "this is a CARv2 file; only CARv1 streams are supported");
}

TEST(CarHeader, RefusesOtherVersions) {
  expect_corrupt(header_of(framed(hex("a265726f6f7473806776657273696f6e03"))), "version 3");
  expect_corrupt(header_of(framed(hex("a265726f6f7473806776657273696f6e00"))), "version 0");
  // "version": "1" (text)
  expect_corrupt(header_of(framed(hex("a265726f6f7473806776657273696f6e6131"))), "must be an unsigned integer");
  // "version": -1
  expect_corrupt(header_of(framed(hex("a265726f6f7473806776657273696f6e20"))), "must be an unsigned integer");
}

TEST(CarHeader, RefusesNonCidRoots) {
  const std::string head = "a265726f6f747381";  // {"roots": [ ...
  const std::string tail = "6776657273696f6e01";
  // Byte string without tag 42.
  expect_corrupt(header_of(framed(hex(head + "582700" + kEmptyBlockCidHex + tail))), "must be a tag");
  // Tag 43 instead of 42.
  expect_corrupt(header_of(framed(hex(head + "d82b582700" + kEmptyBlockCidHex + tail))), "not the CID tag 42");
  // Missing the 0x00 prefix.
  expect_corrupt(header_of(framed(hex(head + "d82a5826" + kEmptyBlockCidHex + tail))), "0x00 multibase prefix");
  // Empty byte string.
  expect_corrupt(header_of(framed(hex(head + "d82a40" + tail))), "0x00 multibase prefix");
  // Tag 42 over a text string.
  expect_corrupt(header_of(framed(hex(head + "d82a6161" + tail))), "must be a byte string");
  // 0x00 then junk that is no CID.
  expect_corrupt(header_of(framed(hex(head + "d82a4400ffffff" + tail))), "root 0 at byte 8 is not a valid CID");
  // A CID with a digest cut short.
  std::string cut = std::string(kEmptyBlockCidHex).substr(0, 70);
  expect_corrupt(header_of(framed(hex(head + "d82a5824" + "00" + cut + tail))), "not a valid CID");
  // A root that is an integer.
  expect_corrupt(header_of(framed(hex(head + "01" + tail))), "root 0 at byte 8 must be a tag");
  // "roots" that is a map.
  expect_corrupt(header_of(framed(hex("a265726f6f7473a0" + tail))), "must be an array");
}

TEST(CarHeader, RefusesMalformedMaps) {
  const std::string roots = "65726f6f747380";        // "roots": []
  const std::string version = "6776657273696f6e01";  // "version": 1
  expect_corrupt(header_of(framed(hex("80"))), "must be a map");
  expect_corrupt(header_of(framed(hex("a1" + roots))), "no \"version\"");
  expect_corrupt(header_of(framed(hex("a1" + version))), "no \"roots\"");
  expect_corrupt(header_of(framed(hex("a3" + roots + version + "6178" + "01"))), "3 keys");
  expect_corrupt(header_of(framed(hex("a2" + roots + "6178" + "01"))), "unknown key \"x\"");
  expect_corrupt(header_of(framed(hex("a2" + roots + "6101" + "01"))), "unknown key \"\\x01\"");
  expect_corrupt(header_of(framed(hex("a2" + version + version))), "\"version\" twice");
  expect_corrupt(header_of(framed(hex("a2" + roots + roots))), "\"roots\" twice");
  expect_corrupt(header_of(framed(hex("a2" + roots + version + "00"))), "1 unexpected bytes after its map");
  expect_corrupt(header_of(framed(hex("a2" + roots + "01" + version))), "must be a text string");
  // Indefinite-length map and array.
  expect_corrupt(header_of(framed(hex("bf" + roots + version + "ff"))), "indefinite-length");
  expect_corrupt(header_of(framed(hex("a265726f6f74739fff" + version))), "indefinite-length");
  // Non-minimal lengths: map(2) as b8 02, "roots" as 78 05, version 1 as 18 01.
  expect_corrupt(header_of(framed(hex("b802" + roots + version))), "non-minimal");
  expect_corrupt(header_of(framed(hex("a27805726f6f747380" + version))), "non-minimal");
  expect_corrupt(header_of(framed(hex("a2" + roots + "6776657273696f6e1801"))), "non-minimal");
  // Reserved additional info, a float, truncation inside the CBOR.
  expect_corrupt(header_of(framed(hex("bc"))), "reserved");
  expect_corrupt(header_of(framed(hex("fb3ff0000000000000"))), "must be a map");
  expect_corrupt(header_of(framed(hex("a265726f6f"))), "claims 5 bytes but only 3 remain");
  expect_corrupt(header_of(framed(hex("a2"))), "truncated at byte 1");
  expect_corrupt(header_of(framed(hex("a265726f6f74739a"))), "truncated");
}

TEST(CarHeader, BoundsLengthsBeforeAllocating) {
  // roots claiming 2^31 entries in a 20-byte header: refused by the count limit.
  expect_corrupt(header_of(framed(hex("a265726f6f74739a80000000" "6776657273696f6e01"))), "over the limit of 4096");
  // A key claiming 2^63 bytes.
  expect_corrupt(header_of(framed(hex("a27b8000000000000000"))), "only 0 remain");
  // A header length over 1 MiB, with nothing behind it.
  Bytes big;
  put_varint(big, kMaxCarHeader + 1);
  expect_corrupt(header_of(big), "over the limit");
  Bytes huge;
  put_varint(huge, std::uint64_t{1} << 62);
  expect_corrupt(header_of(huge), "over the limit");
  expect_corrupt(header_of(hex("00")), "header of length 0");
  expect_corrupt(header_of({}), "is empty");
  expect_corrupt(header_of(hex("11a265")), "truncated CAR stream 'memory': header cut at byte offset 3");
  std::vector<Cid> many(kMaxCarRoots + 1, empty_block_cid());
  expect_corrupt(decode_car_header(encode_car_header(many)), "over the limit of 4096");
}

TEST(CarReader, RoundTripsBlocks) {
  const auto blocks = sample_blocks();
  std::vector<Cid> roots{blocks[0].cid};
  const Bytes stream = write_stream(blocks, roots, nullptr);
  for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{1} << 20}) {
    TrickleSource source(stream, step);
    CarReader reader(source);
    auto header = reader.read_header();
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->roots, roots);
    Cid cid;
    Bytes data;
    for (const Block& expected : blocks) {
      auto more = reader.next(cid, data);
      ASSERT_TRUE(more.ok()) << more.error().message;
      ASSERT_TRUE(*more);
      EXPECT_EQ(cid, expected.cid);
      EXPECT_EQ(data, expected.data);
    }
    auto end = reader.next(cid, data);
    ASSERT_TRUE(end.ok()) << end.error().message;
    EXPECT_FALSE(*end);
    EXPECT_EQ(reader.offset(), stream.size());
    auto again = reader.next(cid, data);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again);
  }
}

TEST(CarReader, SectionLayoutIsVarintCidData) {
  MemorySink sink;
  CarWriter writer(sink);
  ASSERT_TRUE(writer.write_header({}).ok());
  ASSERT_TRUE(writer.write_block(empty_block_cid(), {}).ok());
  Bytes abc = pattern(3, 0);
  ASSERT_TRUE(writer.write_block(block_cid(abc), abc).ok());
  // 0x26 = 38 bytes of CID, no data; then 0x29 = 38 + 3.
  EXPECT_EQ(to_hex(sink.bytes), std::string("11") + kEmptyHeaderHex + "26" + kEmptyBlockCidHex + "29" +
                                    to_hex(block_cid(abc).bytes()) + to_hex(abc));
}

TEST(CarReader, ReusesDataCapacity) {
  std::vector<Block> blocks;
  for (std::uint8_t i = 0; i < 4; ++i) {
    Bytes data = pattern(i % 2 ? 100 : 65536, i);
    blocks.push_back({block_cid(data), data});
  }
  MemorySource source(write_stream(blocks, {}, nullptr));
  CarReader reader(source);
  ASSERT_TRUE(reader.read_header().ok());
  Cid cid;
  Bytes data;
  ASSERT_TRUE(*reader.next(cid, data));
  const auto* buffer = data.data();
  const auto capacity = data.capacity();
  for (int i = 1; i < 4; ++i) {
    auto more = reader.next(cid, data);
    ASSERT_TRUE(more.ok() && *more);
    EXPECT_EQ(data, blocks[i].data);
    EXPECT_EQ(data.data(), buffer);
    EXPECT_EQ(data.capacity(), capacity);
  }
}

TEST(CarReader, EveryTruncationIsCleanOrCorrupt) {
  std::vector<Block> blocks;
  for (Bytes data : {pattern(5, 1), Bytes{}, pattern(2, 2)}) blocks.push_back({block_cid(data), data});
  std::vector<std::size_t> boundaries;
  std::vector<Cid> roots{empty_block_cid()};
  const Bytes stream = write_stream(blocks, roots, &boundaries);
  for (std::size_t cut = 0; cut < stream.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    MemorySource source(Bytes(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(cut)));
    CarReader reader(source);
    auto header = reader.read_header();
    if (cut < boundaries[0]) {
      ASSERT_FALSE(header.ok());
      EXPECT_EQ(header.error().code, Errc::corrupt);
      continue;
    }
    ASSERT_TRUE(header.ok()) << header.error().message;
    std::size_t complete = 0;  // sections wholly inside the cut
    while (complete + 1 < boundaries.size() && boundaries[complete + 1] <= cut) ++complete;
    const bool on_boundary = boundaries[complete] == cut;
    Cid cid;
    Bytes data;
    std::size_t read = 0;
    for (;;) {
      auto more = reader.next(cid, data);
      if (!more.ok()) {
        EXPECT_FALSE(on_boundary) << more.error().message;
        EXPECT_EQ(more.error().code, Errc::corrupt);
        EXPECT_NE(more.error().message.find("truncated CAR stream 'memory'"), std::string::npos)
            << more.error().message;
        EXPECT_NE(more.error().message.find(fmt::format("at byte offset {}", cut)), std::string::npos)
            << more.error().message;
        break;
      }
      if (!*more) {
        EXPECT_TRUE(on_boundary);
        break;
      }
      ASSERT_LT(read, blocks.size());
      EXPECT_EQ(cid, blocks[read].cid);
      EXPECT_EQ(data, blocks[read].data);
      ++read;
    }
    EXPECT_EQ(read, complete);
  }
}

TEST(CarReader, GarbageIsRefusedNotCrashedOn) {
  std::mt19937_64 random(42);
  const Bytes valid = write_stream(sample_blocks(), {}, nullptr);
  int accepted_headers = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    Bytes input;
    if (trial % 3 == 0) {
      input.resize(random() % 200);
      for (auto& b : input) b = static_cast<std::uint8_t>(random());
    } else {
      // A valid stream with a few bytes flipped, and maybe cut.
      input = valid;
      for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips)
        input[random() % std::min<std::size_t>(input.size(), 400)] ^= static_cast<std::uint8_t>(1 + random() % 255);
      if (trial % 3 == 2) input.resize(random() % input.size());
    }
    MemorySource source(std::move(input));
    CarReader reader(source);
    auto header = reader.read_header();
    if (!header.ok()) {
      EXPECT_EQ(header.error().code, Errc::corrupt);
      continue;
    }
    ++accepted_headers;
    Cid cid;
    Bytes data;
    for (int i = 0; i < 100; ++i) {
      auto more = reader.next(cid, data);
      if (!more.ok()) {
        EXPECT_EQ(more.error().code, Errc::corrupt);
        break;
      }
      if (!*more) break;
      EXPECT_LE(data.size(), kMaxCarSection);
    }
  }
  EXPECT_GT(accepted_headers, 0);  // the flips also reached the sections
  const ByteView text = as_bytes("hello world");
  expect_corrupt(header_of(Bytes(text.begin(), text.end())), "truncated CAR stream");
}

Result<bool> next_after_header(const Bytes& sections, Cid& cid, Bytes& data, std::uint64_t* offset = nullptr) {
  Bytes stream = concat({hex("11"), hex(kEmptyHeaderHex), sections});
  MemorySource source(std::move(stream));
  CarReader reader(source);
  EXPECT_TRUE(reader.read_header().ok());
  auto result = reader.next(cid, data);
  if (offset) *offset = reader.offset();
  return result;
}

void expect_section_corrupt(const Bytes& sections, std::string_view fragment, bool allocates = false) {
  Cid cid;
  Bytes data;
  auto r = next_after_header(sections, cid, data);
  ASSERT_FALSE(r.ok()) << "expected an error mentioning: " << fragment;
  EXPECT_EQ(r.error().code, Errc::corrupt);
  EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
  if (!allocates) {
    EXPECT_EQ(data.capacity(), 0u);
  }  // nothing was allocated for the refused section
}

TEST(CarReader, RefusesOversizedSectionsWithoutAllocating) {
  Bytes over;
  put_varint(over, kMaxCarSection + 1);
  over.push_back(0x01);
  expect_section_corrupt(over, "section 0 at byte offset 18 is 16777217 bytes, over the limit of 16777216");
  Bytes huge;
  put_varint(huge, (std::uint64_t{1} << 63) - 1);
  expect_section_corrupt(huge, "over the limit");
}

TEST(CarReader, RefusesMalformedSections) {
  const Bytes cid = hex(kEmptyBlockCidHex);
  expect_section_corrupt(hex("00"), "has length 0");
  expect_section_corrupt(hex("80"), "truncated CAR stream 'memory': section length cut at byte offset 19");
  expect_section_corrupt(hex("8000"), "non-minimal varint");
  expect_section_corrupt(hex("ffffffffffffffffff01"), "longer than 9 bytes");
  // CIDv0: a bare sha2-256 multihash.
  expect_section_corrupt(concat({hex("22"), hex("1220"), Bytes(32, 7)}), "CIDv0");
  expect_section_corrupt(concat({hex("26"), hex("02"), Bytes(37, 0)}), "CID of version 2");
  // Section shorter than the CID inside it: 0x10 = 16 bytes for a 38-byte CID.
  expect_section_corrupt(concat({hex("10"), cid}), "too short for its CID digest");
  expect_section_corrupt(concat({hex("02"), cid}), "too short for its section CID codec");
  // A CID the parser refuses (unknown hash with a 3-byte digest is fine for the
  // reader's framing; whatever Cid::from_bytes says is passed on, named).
  expect_section_corrupt(concat({hex("08"), hex("01829a031202ffff")}), "section 0 at byte offset 18 has an invalid CID");
  // Truncations inside the CID and the data.
  expect_section_corrupt(concat({hex("26"), Bytes(cid.begin(), cid.begin() + 20)}),
                         "section CID digest cut at byte offset 39");
  expect_section_corrupt(concat({hex("30"), cid, hex("0102")}), "section data cut at byte offset 59", true);
}

TEST(CarReader, PassesReadErrorsThrough) {
  const Bytes stream = write_stream(sample_blocks(), {}, nullptr);
  for (std::size_t good : {std::size_t{0}, std::size_t{5}, std::size_t{18}, std::size_t{40}, std::size_t{200}}) {
    FaultySource source(stream, good);
    CarReader reader(source);
    auto header = reader.read_header();
    Error error;
    if (!header.ok()) {
      error = header.error();
    } else {
      Cid cid;
      Bytes data;
      Result<bool> more = true;
      while ((more = reader.next(cid, data)).ok() && *more) {
      }
      ASSERT_FALSE(more.ok());
      error = more.error();
    }
    EXPECT_EQ(error.code, Errc::io) << error.message;
  }
}

TEST(CarWriter, RefusesWhatNoReaderWouldTake) {
  MemorySink sink;
  CarWriter writer(sink);
  std::vector<Cid> bad_roots{Cid{}};
  EXPECT_FALSE(writer.write_header(bad_roots).ok());
  EXPECT_FALSE(writer.write_block(Cid{}, {}).ok());
  Bytes big(kMaxCarSection, 0);
  EXPECT_FALSE(writer.write_block(block_cid(big), big).ok());
  EXPECT_TRUE(sink.bytes.empty());
}

// Throughput of the reader over 64 KiB blocks in memory (run by hand:
// --gtest_also_run_disabled_tests --gtest_filter=CarReader.DISABLED_Throughput).
TEST(CarReader, DISABLED_Throughput) {
  const Bytes block = pattern(65536, 9);
  const Cid cid = block_cid(block);
  MemorySink sink;
  CarWriter writer(sink);
  ASSERT_TRUE(writer.write_header({}).ok());
  const int count = 8192;  // 512 MiB
  for (int i = 0; i < count; ++i) ASSERT_TRUE(writer.write_block(cid, block).ok());
  const std::size_t total = sink.bytes.size();
  MemorySource source(std::move(sink.bytes));
  CarReader reader(source);
  ASSERT_TRUE(reader.read_header().ok());
  Cid got;
  Bytes data;
  const auto start = std::chrono::steady_clock::now();
  int n = 0;
  while (*reader.next(got, data)) ++n;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(n, count);
  std::printf("read %zu bytes in %.3f s: %.2f GB/s\n", total, seconds, total / seconds / 1e9);
}

}  // namespace
}  // namespace codex
