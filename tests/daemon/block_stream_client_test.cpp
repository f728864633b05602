// The tool's end of a block stream (DaemonBlockSource) against a daemon
// played by a thread on a Unix socket: answers come back for the digests
// asked, in the caller's order; an error frame becomes that block's error;
// notes reach the caller; and the process on the socket, being this user's,
// is trusted with the block checks (docs/block-exchange.md section 6a).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "codex/daemon/block_stream.hpp"

namespace codex::daemon {
namespace {

struct FakeDaemon {
  std::filesystem::path dir, path;
  int listener = -1;
  std::thread thread;
  std::map<Digest, Bytes> blocks;  // what it gives; anything else: an 'E' frame

  FakeDaemon() {
    dir = std::filesystem::temp_directory_path() / ("codex-bsc-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    path = dir / "control.sock";
    std::filesystem::remove(path);
    listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
  }
  ~FakeDaemon() {
    if (thread.joinable()) thread.join();
    ::close(listener);
    std::filesystem::remove_all(dir);
  }

  static bool read_all(int fd, void* data, std::size_t size) {
    auto* p = static_cast<std::uint8_t*>(data);
    while (size > 0) {
      ssize_t n = ::read(fd, p, size);
      if (n <= 0) return false;
      p += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }
  static void write_frame(int fd, std::uint8_t type, ByteView body) {
    std::uint8_t h[5] = {type};
    for (int i = 0; i < 4; ++i) h[1 + i] = static_cast<std::uint8_t>(body.size() >> (24 - 8 * i));
    Bytes frame(h, h + 5);
    frame.insert(frame.end(), body.begin(), body.end());
    ASSERT_EQ(::write(fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  }

  // Serves one session: the request line, the hello, then each 'W' frame
  // answered digest by digest (a note before the first answer).
  void serve() {
    thread = std::thread([this] {
      int fd = ::accept(listener, nullptr, nullptr);
      ASSERT_GE(fd, 0);
      std::string line;
      char c = 0;
      while (read_all(fd, &c, 1) && c != '\n') line.push_back(c);
      EXPECT_NE(line.find("block-stream"), std::string::npos);
      const std::string hello = "{\"ok\":true,\"window\":512,\"members\":2}\n";
      ASSERT_EQ(::write(fd, hello.data(), hello.size()), static_cast<ssize_t>(hello.size()));
      bool noted = false;
      std::uint8_t h[5];
      while (read_all(fd, h, 5)) {
        std::uint32_t len = 0;
        for (int i = 0; i < 4; ++i) len = len << 8 | h[1 + i];
        ASSERT_EQ(h[0], kFrameWant);
        Bytes body(len);
        ASSERT_TRUE(read_all(fd, body.data(), len));
        if (!noted) {
          const std::string note = "member X was cut off";
          write_frame(fd, kFrameNote, ByteView(reinterpret_cast<const std::uint8_t*>(note.data()), note.size()));
          noted = true;
        }
        for (std::size_t i = 0; i < len / 32; ++i) {
          Digest d;
          std::memcpy(d.data(), body.data() + 32 * i, 32);
          if (auto it = blocks.find(d); it != blocks.end()) {
            write_frame(fd, kFrameBlock, it->second);
          } else {
            const std::string why = "\x03no member has it";
            write_frame(fd, kFrameError, ByteView(reinterpret_cast<const std::uint8_t*>(why.data()), why.size()));
          }
        }
      }
      ::close(fd);
    });
  }
};

TEST(DaemonBlockSource, AnswersInTheCallersOrderWithErrorsAndNotes) {
  FakeDaemon daemon;
  std::vector<Digest> plan;
  for (int i = 0; i < 40; ++i) {
    Bytes data(1000 + i, static_cast<std::uint8_t>(i));
    plan.push_back(sha256(data));
    if (i != 7) daemon.blocks[plan.back()] = data;  // block 7: no member has it
  }
  daemon.serve();
  std::vector<std::string> notes;
  {
    auto source = DaemonBlockSource::open(daemon.path, plan, [&](const std::string& n) { notes.push_back(n); }, 16);
    ASSERT_TRUE(source.ok()) << source.error().message;
    EXPECT_EQ((*source)->members(), 2u);
    // This user's own process is on the socket: its checks are trusted.
    EXPECT_FALSE((*source)->checks_blocks());
    // Read in another order than planned, in batches, one digest twice.
    std::vector<Digest> asked = {plan[3], plan[0], plan[7], plan[3], plan[39]};
    for (int i = 10; i < 30; ++i) asked.push_back(plan[i]);
    std::vector<Bytes> out(asked.size());
    std::vector<Status> status(asked.size());
    (*source)->read_many(asked, out, status);
    for (std::size_t i = 0; i < asked.size(); ++i) {
      if (asked[i] == plan[7]) {
        ASSERT_FALSE(status[i].ok());
        EXPECT_EQ(status[i].error().code, Errc::not_found);
        EXPECT_EQ(status[i].error().message, "no member has it");
      } else {
        ASSERT_TRUE(status[i].ok()) << i << ": " << status[i].error().message;
        EXPECT_EQ(sha256(out[i]), asked[i]) << i;
      }
    }
    Bytes one;
    ASSERT_TRUE((*source)->read(plan[35], one).ok());
    EXPECT_EQ(sha256(one), plan[35]);
  }
  if (daemon.thread.joinable()) daemon.thread.join();
  ASSERT_FALSE(notes.empty());
  EXPECT_EQ(notes.front(), "member X was cut off");
}

}  // namespace
}  // namespace codex::daemon
