// The slot executor's scratch repositories (DIR/repairs/<dataset>-<slot>):
// leftovers of a rebuild that failed, was cancelled or whose daemon was
// killed are removed once no rebuild has used them for the keep time, and
// nothing else in DIR/repairs is touched.
#include "codex/daemon/slot_executor.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "codex/daemon/log.hpp"
#include "test_support.hpp"

namespace codex::daemon {
namespace {

namespace fs = std::filesystem;

void make_scratch(const fs::path& dir) {
  fs::create_directories(dir);
  std::ofstream(dir / "codex.db") << "leftover";
}

// A daemon directory, an event loop and the link an executor works through.
struct World {
  codex::testing::TempDir dir;
  asio::io_context io;
  Log log{LogLevel::error};
  CoreLink link;
  World() {
    link.io = &io;
    link.log = &log;
    link.dir = dir.path();
  }
};

TEST(SlotExecutor, IdleScratchRepositoriesAreRemovedAfterTheKeepTime) {
  World w;
  const fs::path repairs = fs::path(w.dir.path()) / "repairs";
  const fs::path leftover = repairs / (std::string(64, 'a') + "-2");  // a rebuild killed mid-way
  const fs::path other = repairs / (std::string(64, 'b') + "-10");
  const fs::path foreign = repairs / "notes";                          // not a rebuild's: left alone
  const fs::path odd = repairs / (std::string(64, 'A') + "-2");        // upper case: not a name we make
  make_scratch(leftover);
  make_scratch(other);
  make_scratch(foreign);
  make_scratch(odd);
  SlotExecutor executor(w.link, ExecutorOptions{}, [](const protocol::LocalEvent&) {});
  // Found at start: kept for the keep time, counted from the start.
  EXPECT_EQ(executor.sweep_scratch(3'600'000), 0u);
  EXPECT_TRUE(fs::exists(leftover));
  EXPECT_EQ(executor.sweep_scratch(0), 2u);
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_FALSE(fs::exists(other));
  EXPECT_TRUE(fs::exists(foreign / "codex.db"));
  EXPECT_TRUE(fs::exists(odd / "codex.db"));
  EXPECT_EQ(executor.sweep_scratch(0), 0u);
}

TEST(SlotExecutor, NoRepairsDirectoryIsNothingToSweep) {
  World w;
  SlotExecutor executor(w.link, ExecutorOptions{}, [](const protocol::LocalEvent&) {});
  EXPECT_EQ(executor.sweep_scratch(0), 0u);
}

// With a keep time the executor sweeps by itself, on the io thread.
TEST(SlotExecutor, SweepsByItselfEveryQuarterOfTheKeepTime) {
  World w;
  const fs::path leftover = fs::path(w.dir.path()) / "repairs" / (std::string(64, 'c') + "-0");
  make_scratch(leftover);
  ExecutorOptions options;
  options.scratch_keep_ms = 1000;  // swept every second (the floor)
  SlotExecutor executor(w.link, options, [](const protocol::LocalEvent&) {});
  // Bounded: at most 30 s of sweeping (it takes 1-2 s).
  for (int i = 0; i < 300 && fs::exists(leftover); ++i) w.io.run_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(fs::exists(leftover));
}

}  // namespace
}  // namespace codex::daemon
