// DIR/damaged-slots: the slots a member reported damaged, kept across
// restarts (node_files.hpp): records round-trip, one per slot, old ones
// pruned, and a file that is not whole records is refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "codex/daemon/node_files.hpp"

namespace codex::daemon {
namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("codex-damage-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

DamageReport report(std::uint8_t fill, std::uint32_t slot, std::uint64_t at) {
  DamageReport r;
  r.dataset.fill(fill);
  r.slot = slot;
  r.reported_unix_ms = at;
  return r;
}

TEST(DamageReports, NoFileIsNoReports) {
  TempDir dir;
  auto reports = load_damage_reports(NodePaths{dir.path});
  ASSERT_TRUE(reports.ok()) << reports.error().message;
  EXPECT_TRUE(reports->empty());
}

TEST(DamageReports, KeptOnePerSlotAndPrunedAfterTheWindow) {
  TempDir dir;
  NodePaths paths{dir.path};
  const std::uint64_t keep = 60000;
  ASSERT_TRUE(remember_damage_report(paths, report(0x11, 1, 1000000), keep).ok());
  ASSERT_TRUE(remember_damage_report(paths, report(0x22, 4, 1010000), keep).ok());
  ASSERT_TRUE(remember_damage_report(paths, report(0x11, 1, 1020000), keep).ok());  // the same slot again
  auto reports = load_damage_reports(paths);
  ASSERT_TRUE(reports.ok()) << reports.error().message;
  ASSERT_EQ(reports->size(), 2u);
  EXPECT_EQ((*reports)[0], report(0x22, 4, 1010000));
  EXPECT_EQ((*reports)[1], report(0x11, 1, 1020000));
  EXPECT_EQ(std::filesystem::file_size(paths.damaged_slots()), 2 * kDamageReportSize);
  // A report a whole window later: the older ones are gone.
  ASSERT_TRUE(remember_damage_report(paths, report(0x33, 0, 1080000), keep).ok());
  reports = load_damage_reports(paths);
  ASSERT_TRUE(reports.ok());
  ASSERT_EQ(reports->size(), 1u);
  EXPECT_EQ((*reports)[0], report(0x33, 0, 1080000));
}

TEST(DamageReports, EncodingIsDatasetSlotAndTimeBigEndian) {
  TempDir dir;
  NodePaths paths{dir.path};
  ASSERT_TRUE(remember_damage_report(paths, report(0xab, 0x01020304, 0x05060708090a0b0cull), 1).ok());
  std::ifstream in(paths.damaged_slots(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(bytes.size(), kDamageReportSize);
  EXPECT_EQ(bytes.substr(0, 32), std::string(32, '\xab'));
  EXPECT_EQ(bytes.substr(32), std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12));
}

TEST(DamageReports, TornFileIsRefused) {
  TempDir dir;
  NodePaths paths{dir.path};
  {
    std::ofstream out(paths.damaged_slots(), std::ios::binary);
    out << std::string(kDamageReportSize + 3, 'x');
  }
  auto reports = load_damage_reports(paths);
  ASSERT_FALSE(reports.ok());
  EXPECT_EQ(reports.error().code, Errc::corrupt);
  EXPECT_NE(reports.error().message.find("damaged-slots"), std::string::npos) << reports.error().message;
  // Remembering a new report replaces it (the records only shorten a window).
  ASSERT_TRUE(remember_damage_report(paths, report(0x44, 2, 5000), 1000).ok());
  reports = load_damage_reports(paths);
  ASSERT_TRUE(reports.ok());
  EXPECT_EQ(reports->size(), 1u);
}

}  // namespace
}  // namespace codex::daemon
