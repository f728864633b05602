// Encoding: every way in and out gives the same protected stream (memory or
// pipe in: data read back from a file out, else spilled; a file in: re-read
// at its offsets; a file out: parity written in place; memory out: parity
// spilled), a file (in or out) that changes between the passes fails the
// encoding, and positioned I/O is offered only where it works.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>

#include "codex/dataset.hpp"
#include "codex/encode.hpp"
#include "codex/io.hpp"
#include "test_support.hpp"

namespace codex {
namespace {

using testing::TempDir;
using testing::random_bytes;

Bytes plain_stream(std::mt19937_64& rng, std::size_t bytes, std::size_t block_size) {
  MemorySink plain;
  MemorySource input(random_bytes(rng, bytes));
  CarWriter writer(plain);
  ChunkOptions options;
  options.block_size = block_size;
  EXPECT_TRUE(chunk_stream(input, &writer, options).ok());
  return plain.bytes;
}

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

EncodeOptions options_for(std::uint32_t k, std::uint32_t m, const std::string& spill) {
  EncodeOptions options;
  options.k = k;
  options.m = m;
  options.spill_dir = spill;
  return options;
}

// Encodes `plain`, read from memory or from a file, written to memory or to a file.
Result<Bytes> encode(const Bytes& plain, bool from_file, bool to_file, const EncodeOptions& options,
                     const TempDir& tmp) {
  std::unique_ptr<ByteSource> input;
  if (from_file) {
    write_file(tmp.path() + "/in.car", plain);
    CODEX_TRY_ASSIGN(input, open_input(tmp.path() + "/in.car"));
    EXPECT_TRUE(input->can_read_at());
  } else {
    input = std::make_unique<MemorySource>(plain);
  }
  MemorySink memory;
  std::unique_ptr<ByteSink> file;
  if (to_file) {
    CODEX_TRY_ASSIGN(file, open_output(tmp.path() + "/out.car"));
    EXPECT_TRUE(file->can_write_at());
  }
  ByteSink& sink = to_file ? *file : memory;
  CarWriter writer(sink);
  CODEX_TRY(encode_stream(*input, writer, options));
  CODEX_TRY(sink.flush());
  if (!to_file) return memory.bytes;
  file.reset();
  return read_file(tmp.path() + "/out.car");
}

TEST(EncodeTest, EveryPathGivesTheSameStream) {
  TempDir tmp;
  std::mt19937_64 rng(11);
  // 10 blocks: with K=4 the last group has padding; with K=3 M=3, too.
  const Bytes plain = plain_stream(rng, 10 * 4096 - 100, 4096);
  for (auto [k, m] : {std::pair{4u, 2u}, std::pair{3u, 3u}, std::pair{10u, 4u}}) {
    const EncodeOptions options = options_for(k, m, tmp.path());
    auto reference = encode(plain, false, false, options, tmp);
    ASSERT_TRUE(reference.ok()) << reference.error().message;
    for (bool from_file : {false, true})
      for (bool to_file : {false, true}) {
        auto out = encode(plain, from_file, to_file, options, tmp);
        ASSERT_TRUE(out.ok()) << out.error().message;
        EXPECT_TRUE(*out == *reference) << "K=" << k << " M=" << m << " from_file=" << from_file
                                        << " to_file=" << to_file;
      }
    // And the stream is a valid protected dataset.
    TempDir repo_dir;
    auto repo = Repository::open(repo_dir.path(), Repository::OpenMode::create);
    ASSERT_TRUE(repo.ok());
    MemorySource stream(*reference);
    auto put = put_stream(**repo, stream, PutOptions());
    ASSERT_TRUE(put.ok()) << put.error().message;
  }
}

// A file into a file takes one pass (encode_file.cpp): each task reads a run
// of groups' rows where they are in the file. Runs of several tasks, a last
// run shorter than the others, padding in the last row, and K and M that
// give runs of sixteen groups, all give the streaming way's bytes.
TEST(EncodeTest, AFileIntoAFileInOnePassGivesTheStreamingBytes) {
  TempDir tmp;
  std::mt19937_64 rng(14);
  const Bytes plain = plain_stream(rng, 101 * 4096 - 7, 4096);
  for (auto [k, m] : {std::pair{4u, 2u}, std::pair{3u, 3u}, std::pair{10u, 4u}, std::pair{1u, 1u}}) {
    const EncodeOptions options = options_for(k, m, tmp.path());
    auto reference = encode(plain, false, false, options, tmp);
    ASSERT_TRUE(reference.ok()) << reference.error().message;
    auto out = encode(plain, true, true, options, tmp);
    ASSERT_TRUE(out.ok()) << out.error().message;
    EXPECT_TRUE(*out == *reference) << "K=" << k << " M=" << m;
  }
}

// The same stream, one data byte of block 37 flipped in the file: the one
// pass refuses it as the streaming way does, naming the block.
TEST(EncodeTest, AFileWithABadBlockFailsInOnePass) {
  TempDir tmp;
  std::mt19937_64 rng(15);
  Bytes plain = plain_stream(rng, 64 * 4096, 4096);
  // Sections of one size after the header: block 37's last byte is just
  // before block 38's section.
  MemorySource source(plain);
  CarReader reader(source);
  ASSERT_TRUE(reader.read_header().ok());
  Cid cid;
  Bytes data;
  for (int i = 0; i <= 37; ++i) ASSERT_TRUE(reader.next(cid, data).ok());
  plain[reader.offset() - 1] ^= 1;
  for (bool to_file : {false, true}) {
    auto out = encode(plain, true, to_file, options_for(4, 2, tmp.path()), tmp);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, Errc::corrupt);
    EXPECT_NE(out.error().message.find("block 37 '" + cid.to_string() + "' does not match its CID"), std::string::npos)
        << out.error().message;
  }
}

// A file whose bytes differ when read again at a position: `tamper` changes
// what read_at returns (someone wrote to the file meanwhile). With `sized`,
// it says its size, which the one-pass encoder needs; without, encode takes
// the two passes.
class ChangingSource : public ByteSource {
 public:
  ChangingSource(Bytes bytes, std::string name, std::function<void(MutableByteView)> tamper, bool sized)
      : bytes_(std::move(bytes)), name_(std::move(name)), tamper_(std::move(tamper)), sized_(sized) {}
  Result<std::size_t> read_some(MutableByteView out) override {
    const std::size_t n = std::min(out.size(), bytes_.size() - pos_);
    std::memcpy(out.data(), bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::string name() const override { return name_; }
  bool can_read_at() const override { return true; }
  std::optional<std::uint64_t> positional_size() const override {
    return sized_ ? std::optional<std::uint64_t>(bytes_.size()) : std::nullopt;
  }
  Status read_at(std::uint64_t offset, MutableByteView out) override {
    std::memcpy(out.data(), bytes_.data() + offset, out.size());
    tamper_(out);
    return {};
  }

 private:
  Bytes bytes_;
  std::string name_;
  std::function<void(MutableByteView)> tamper_;
  bool sized_;
  std::size_t pos_ = 0;
};

TEST(EncodeTest, AFileChangedBetweenThePassesFails) {
  TempDir tmp;
  std::mt19937_64 rng(12);
  ChangingSource input(
      plain_stream(rng, 8 * 4096, 4096), "changing.car", [](MutableByteView out) { out[out.size() / 2] ^= 1; }, false);
  MemorySink out;
  CarWriter writer(out);
  auto encoded = encode_stream(input, writer, options_for(4, 2, tmp.path()));
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.error().code, Errc::io);
  EXPECT_NE(encoded.error().message.find("changed while it was being encoded"), std::string::npos)
      << encoded.error().message;
}

// An output file whose data blocks read back differently from what was
// written (someone wrote to it meanwhile).
class ChangingSink : public ByteSink {
 public:
  Status write(ByteView data) override {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return {};
  }
  std::string name() const override { return "changing-out.car"; }
  bool can_write_at() const override { return true; }
  Status write_at(std::uint64_t offset, ByteView data) override {
    if (bytes_.size() < offset + data.size()) bytes_.resize(offset + data.size());
    std::memcpy(bytes_.data() + offset, data.data(), data.size());
    return {};
  }
  bool can_read_back() override { return true; }
  Status read_back(std::uint64_t offset, MutableByteView out) override {
    std::memcpy(out.data(), bytes_.data() + offset, out.size());
    out[out.size() / 2] ^= 1;
    return {};
  }

 private:
  Bytes bytes_;
};

TEST(EncodeTest, AFileChangedDuringTheOnePassFails) {
  TempDir tmp;
  std::mt19937_64 rng(16);
  // Its section headers change after the one pass has read them all: reads
  // larger than a section header (a run of sections) see another digest in
  // the first one.
  ChangingSource input(
      plain_stream(rng, 64 * 4096, 4096), "headers.car",
      [](MutableByteView out) {
        if (out.size() > 4096) out[20] ^= 1;
      },
      true);
  auto out = open_output(tmp.path() + "/out.car");
  ASSERT_TRUE(out.ok());
  CarWriter writer(**out);
  auto encoded = encode_stream(input, writer, options_for(4, 2, tmp.path()));
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.error().code, Errc::io);
  EXPECT_NE(encoded.error().message.find("'headers.car' changed while it was being encoded"), std::string::npos)
      << encoded.error().message;
}

TEST(EncodeTest, AnOutputChangedBetweenThePassesFails) {
  TempDir tmp;
  std::mt19937_64 rng(13);
  MemorySource input(plain_stream(rng, 8 * 4096, 4096));  // not re-readable: pass 2 reads the output
  ChangingSink out;
  CarWriter writer(out);
  auto encoded = encode_stream(input, writer, options_for(4, 2, tmp.path()));
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.error().code, Errc::io);
  EXPECT_NE(encoded.error().message.find("'changing-out.car' changed while it was being encoded"), std::string::npos)
      << encoded.error().message;
}

TEST(EncodeTest, PositionedIoOnlyOnRegularFiles) {
  TempDir tmp;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(fd_source(fds[0], "pipe")->can_read_at());
  auto pipe_sink = fd_sink(fds[1], "pipe");
  EXPECT_FALSE(pipe_sink->can_write_at());
  EXPECT_EQ(pipe_sink->write_at(0, Bytes{1}).error().code, Errc::failure);
  EXPECT_FALSE(pipe_sink->can_read_back());
  ::close(fds[0]);
  ::close(fds[1]);

  const std::string path = tmp.path() + "/f";
  write_file(path, Bytes{9, 9});
  int append = ::open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(append, 0);
  EXPECT_FALSE(fd_sink(append, path)->can_write_at()) << "pwrite ignores offsets under O_APPEND";
  ::close(append);

  // Positions count from where the descriptor stood when the sink was made.
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lseek(fd, 1, SEEK_SET), 1);
  {
    auto sink = fd_sink(fd, path);
    ASSERT_TRUE(sink->can_write_at());
    ASSERT_TRUE(sink->write(Bytes{1}).ok());
    EXPECT_EQ(sink->write_at(3, Bytes{4}).error().code, Errc::failure) << "buffered bytes not flushed first";
    ASSERT_TRUE(sink->flush().ok());
    ASSERT_TRUE(sink->write_at(3, Bytes{4}).ok());
    // Opened write-only, it still reads back what it wrote (the file opened again).
    ASSERT_TRUE(sink->can_read_back());
    Bytes back(4);
    ASSERT_TRUE(sink->read_back(0, back).ok());
    EXPECT_EQ(back, (Bytes{1, 0, 0, 4}));
  }
  ::close(fd);
  EXPECT_EQ(read_file(path), (Bytes{9, 1, 0, 0, 4}));
}

}  // namespace
}  // namespace codex
