// The file watch never loses an edit that lands while a load is reading: such a file counts
// as changed at the next look, so the policy is loaded again from what the file now holds.
#include "proxy/server/file_watch.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace hallpass::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class FileWatchTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "hallpass_watch_" +
           testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_.files = {dir_ + "hallpass.yaml"};
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `text` and stamps the file `offset` from `read_started`, the way the kernel would
  // have for a write at that moment: no test waits for a clock to move.
  void write(const std::string& name, const std::string& text, std::chrono::nanoseconds offset) {
    auto path = dir_ + name;
    std::ofstream(path, std::ios::trunc) << text;
    timespec times[2]{};
    auto stamp = read_started_ + offset.count();
    times[0] = times[1] = timespec{static_cast<time_t>(stamp / 1000000000LL), stamp % 1000000000LL};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  }

  std::string dir_;
  config::Config config_;
  long long read_started_ = FileWatch::file_clock_now_ns();
};

TEST_F(FileWatchTest, FileUntouchedSinceTheReadIsNoChange) {
  write("hallpass.yaml", "extends: default\n", -10s);
  FileWatch watch(config_, read_started_);
  EXPECT_FALSE(watch.changed());
}

TEST_F(FileWatchTest, FileWrittenDuringTheStartupReadIsAChange) {
  write("hallpass.yaml", "extends: default\n", 1ms);
  FileWatch watch(config_, read_started_);
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed()) << "one change is reported once";
}

TEST_F(FileWatchTest, EditedFileIsAChange) {
  write("hallpass.yaml", "extends: default\n", -10s);
  FileWatch watch(config_, read_started_);
  write("hallpass.yaml", "extends: default\nclients: []\n", -5s);
  EXPECT_TRUE(watch.changed());
}

TEST_F(FileWatchTest, FileThatChangesDuringAReloadIsReloadedAgain) {
  write("hallpass.yaml", "extends: default\n", -10s);
  FileWatch before(config_, read_started_);
  write("hallpass.yaml", "extends: default\nclients: []\n", -5s);
  ASSERT_TRUE(before.changed());       // the reload starts here...
  fs::remove(dir_ + "hallpass.yaml");  // ...and reads the file while it goes away
  FileWatch after(config_, before, read_started_);
  EXPECT_TRUE(after.changed()) << "the reload may have read either state";
  write("hallpass.yaml", "extends: default\nclients: []\n", -5s);
  EXPECT_TRUE(after.changed()) << "the file came back: the state the reload remembered is gone";
}

TEST_F(FileWatchTest, FileSteadyThroughAReloadIsNoChange) {
  write("hallpass.yaml", "extends: default\n", -10s);
  FileWatch before(config_, read_started_);
  write("hallpass.yaml", "extends: default\nclients: []\n", -5s);
  ASSERT_TRUE(before.changed());
  FileWatch after(config_, before, read_started_);
  EXPECT_FALSE(after.changed());
}

TEST_F(FileWatchTest, FileNewToTheWatchIsJudgedByItsTime) {
  write("hallpass.yaml", "extends: default\n", -10s);
  FileWatch before(config_, read_started_);
  config_.files.push_back(dir_ + "old.yaml");
  config_.files.push_back(dir_ + "fresh.yaml");
  write("old.yaml", "a: 1\n", -10s);
  write("fresh.yaml", "a: 1\n", 2ms);
  FileWatch after(config_, before, read_started_);
  EXPECT_TRUE(after.changed()) << "fresh.yaml was written after the reload began reading";
  EXPECT_FALSE(after.changed());
}

}  // namespace
}  // namespace hallpass::server
