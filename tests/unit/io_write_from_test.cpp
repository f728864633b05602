// ByteSink::write_from: a stretch of a file written into a sink after what
// was written before and before what comes after. Into a pipe it is spliced
// (the pipe refers to the file's pages); into anything else, and from a File
// without a descriptor, it is read and written. Either way the bytes that
// come out must be the same, in order, and a stretch past the file's end an
// error.
#include <gtest/gtest.h>

#include "test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <random>
#include <thread>

#include "codex/env.hpp"
#include "codex/io.hpp"
#include "temp_file.hpp"

namespace codex {
namespace {

using testing::random_bytes;
using testing::TempDir;

// A File that has no system descriptor: write_from must read it.
class NoDescriptor : public File {
 public:
  explicit NoDescriptor(File& inner) : inner_(inner) {}
  Status read_at(std::uint64_t offset, MutableByteView out) override { return inner_.read_at(offset, out); }
  Status write_at(std::uint64_t offset, ByteView data) override { return inner_.write_at(offset, data); }
  Status sync() override { return inner_.sync(); }
  Status truncate(std::uint64_t size) override { return inner_.truncate(size); }
  Result<std::uint64_t> size() override { return inner_.size(); }
  Result<bool> try_lock() override { return inner_.try_lock(); }
  Status lock(Lock kind) override { return inner_.lock(kind); }
  const std::string& path() const override { return inner_.path(); }

 private:
  File& inner_;
};

struct Fixture {
  TempDir dir;
  std::mt19937_64 rng{11};
  Bytes content = random_bytes(rng, 300000);  // in the file
  Bytes head = random_bytes(rng, 1000), tail = random_bytes(rng, 70000);
  std::optional<TempFile> file;
  // What a sink must receive: head, content[offset, offset + size), tail.
  static constexpr std::uint64_t kOffset = 4096 + 17, kSize = 200000;
  Bytes expected() const {
    Bytes out = head;
    out.insert(out.end(), content.begin() + kOffset, content.begin() + kOffset + kSize);
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
  }
  Fixture() {
    auto made = TempFile::create(dir.path());
    EXPECT_TRUE(made.ok());
    file.emplace(std::move(*made));
    EXPECT_TRUE(file->write_at(0, content).ok());
  }
};

Status write_all(ByteSink& sink, const Fixture& f, File& from) {
  CODEX_TRY(sink.write(f.head));
  CODEX_TRY(sink.write_from(from, Fixture::kOffset, Fixture::kSize));
  CODEX_TRY(sink.write(f.tail));
  return sink.flush();
}

// Everything that comes out of a pipe, read on another thread while `write` runs.
Bytes through_pipe(const std::function<Status(ByteSink&)>& write) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  Bytes got;
  std::thread reader([&] {
    std::uint8_t buffer[65536];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) got.insert(got.end(), buffer, buffer + n);
  });
  {
    auto sink = fd_sink(fds[1], "pipe");
    Status status = write(*sink);
    EXPECT_TRUE(status.ok()) << status.error().message;
  }
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  return got;
}

TEST(WriteFrom, IntoAPipeInOrder) {
  Fixture f;
  ASSERT_GE(f.file->file().descriptor(), 0);
  EXPECT_TRUE(through_pipe([&](ByteSink& sink) { return write_all(sink, f, f.file->file()); }) == f.expected());
}

TEST(WriteFrom, IntoAPipeFromAFileWithoutDescriptor) {
  Fixture f;
  NoDescriptor plain(f.file->file());
  ASSERT_LT(plain.descriptor(), 0);
  EXPECT_TRUE(through_pipe([&](ByteSink& sink) { return write_all(sink, f, plain); }) == f.expected());
}

TEST(WriteFrom, IntoAFileAndIntoMemory) {
  Fixture f;
  const std::string path = f.dir.path() + "/out";
  {
    auto out = open_output(path);
    ASSERT_TRUE(out.ok());
    Status status = write_all(**out, f, f.file->file());
    ASSERT_TRUE(status.ok()) << status.error().message;
  }
  std::ifstream in(path, std::ios::binary);
  const Bytes written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(written == f.expected());
  MemorySink memory;
  ASSERT_TRUE(write_all(memory, f, f.file->file()).ok());
  EXPECT_TRUE(memory.bytes == f.expected());
}

TEST(WriteFrom, PastTheEndOfTheFileIsAnError) {
  Fixture f;
  const std::uint64_t past = f.content.size() - 100;
  through_pipe([&](ByteSink& sink) -> Status {
    Status status = sink.write_from(f.file->file(), past, 1000);
    EXPECT_FALSE(status.ok()) << "a pipe took 1000 bytes from 100 before the end";
    return {};
  });
  MemorySink memory;
  EXPECT_FALSE(memory.write_from(f.file->file(), past, 1000).ok());
}

}  // namespace
}  // namespace codex
