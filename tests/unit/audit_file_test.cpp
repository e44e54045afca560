// The audit file: rotation renames and keeps max_files, a restart appends, a torn tail is
// terminated, and every line the disk refuses is counted, never silently lost.
#include "proxy/record/audit_file.hpp"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "proxy/record/audit_log.hpp"

namespace hallpass::record {
namespace {

namespace fs = std::filesystem;

class AuditFileTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "hallpass_audit_" +
           testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<AuditFile> open(const std::string& path, std::uint64_t max_bytes,
                                  std::size_t max_files) {
    return std::make_shared<AuditFile>(path, max_bytes, max_files,
                                       AuditFile::Counters{lines_, dropped_});
  }
  // Writes `lines` through a synchronous logger (the sink is the same under the async one).
  static void log(const std::shared_ptr<AuditFile>& file, const std::vector<std::string>& lines) {
    spdlog::logger logger("test", file);
    for (const auto& line : lines) {
      logger.info(line);
    }
    logger.flush();
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      out.push_back(line);
    }
    return out;
  }

  std::string dir_;
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Counter>& family_ =
      prometheus::BuildCounter().Name("t_total").Register(registry_);
  prometheus::Counter& lines_ = family_.Add({{"k", "lines"}});
  prometheus::Counter& dropped_ = family_.Add({{"k", "dropped"}});
};

TEST_F(AuditFileTest, RotatesByRenamingAndKeepsMaxFiles) {
  auto path = dir_ + "audit.jsonl";
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i) {
    lines.push_back("{\"n\":" + std::to_string(1000 + i) + ",\"pad\":\"xxxxxxxxxxxxxxxxxxxx\"}");
  }
  {
    auto file = open(path, 1000, 3);
    EXPECT_EQ(file->file_name(2), dir_ + "audit.2.jsonl");
    log(file, lines);
  }
  EXPECT_TRUE(fs::exists(dir_ + "audit.3.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ + "audit.4.jsonl"));
  // Oldest to newest, the kept lines are one unbroken run ending with the last line written.
  std::vector<std::string> kept;
  for (const char* name : {"audit.3.jsonl", "audit.2.jsonl", "audit.1.jsonl", "audit.jsonl"}) {
    EXPECT_LE(fs::file_size(dir_ + name), 1000u) << name;
    auto part = read_lines(dir_ + name);
    EXPECT_FALSE(part.empty()) << name;
    kept.insert(kept.end(), part.begin(), part.end());
  }
  ASSERT_FALSE(kept.empty());
  std::vector<std::string> tail(lines.end() - static_cast<std::ptrdiff_t>(kept.size()),
                                lines.end());
  EXPECT_EQ(kept, tail);
  EXPECT_EQ(lines_.Value(), 200);
  EXPECT_EQ(dropped_.Value(), 0);
}

TEST_F(AuditFileTest, RestartAppendsToTheActiveFile) {
  auto path = dir_ + "audit.jsonl";
  log(open(path, 1 << 20, 2), {"one", "two"});
  log(open(path, 1 << 20, 2), {"three"});
  EXPECT_EQ(read(path), "one\ntwo\nthree\n");
  EXPECT_FALSE(fs::exists(dir_ + "audit.1.jsonl")) << "a restart must not rotate";
}

TEST_F(AuditFileTest, ATornTailIsEndedBeforeTheNextLine) {
  auto path = dir_ + "audit.jsonl";
  std::ofstream(path) << "whole\n{\"cut\":";
  log(open(path, 1 << 20, 2), {"next"});
  EXPECT_EQ(read(path), "whole\n{\"cut\":\nnext\n");
}

TEST_F(AuditFileTest, LinesTheDiskRefusesAreCountedAsDropped) {
  // A link to /dev/full: every write fails with ENOSPC. The size limit is never reached, so
  // nothing is renamed (and the link, not the device, would be).
  auto path = dir_ + "full.log";
  fs::create_symlink("/dev/full", path);
  log(open(path, 1 << 30, 2), {"a", "b", "c"});
  EXPECT_EQ(lines_.Value(), 3);
  EXPECT_EQ(dropped_.Value(), 3);
}

TEST_F(AuditFileTest, AFailedRenameKeepsAppendingInsteadOfTruncating) {
  auto path = dir_ + "audit.jsonl";
  // audit.1.jsonl is a non-empty folder: renaming the active file onto it fails.
  fs::create_directories(dir_ + "audit.1.jsonl/blocker");
  std::vector<std::string> lines;
  for (int i = 0; i < 50; ++i) {
    lines.push_back("line-" + std::to_string(100 + i) + "-xxxxxxxxxxxxxxxxxxxxxxxx");
  }
  log(open(path, 200, 1), lines);
  EXPECT_EQ(read_lines(path), lines);
  EXPECT_EQ(dropped_.Value(), 0);
}

TEST_F(AuditFileTest, AnUnopenableFileIsRefusedNamingIt) {
  auto path = dir_ + "missing/audit.jsonl";
  try {
    open(path, 1000, 1);
    FAIL() << "opened " << path;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

Outcome sample(std::string_view client, std::string_view user) {
  Outcome o;
  o.request_id = "id-1";
  o.client = client;
  o.user = user;
  o.method = "GET";
  o.host = "example.test";
  o.port = 80;
  o.path = "/";
  o.status = 200;
  o.decision.building = "north";
  return o;
}

TEST_F(AuditFileTest, AuditLogPseudonymizesClientAndUserInBothFormats) {
  for (auto format : {config::AuditFormat::json, config::AuditFormat::squid}) {
    config::Audit settings;
    settings.path = dir_ + (format == config::AuditFormat::json ? "a.jsonl" : "a.log");
    settings.format = format;
    settings.pseudonymize = true;
    settings.pseudonym_key = std::string(40, 'z');
    prometheus::Registry registry;
    {
      AuditLog log(settings, registry);
      log.write(sample("10.20.30.40", "alice"));
      log.write(sample("10.20.30.40", ""));
    }
    auto text = read(settings.path);
    EXPECT_EQ(text.find("10.20.30.40"), std::string::npos) << text;
    EXPECT_EQ(text.find("alice"), std::string::npos) << text;
    EXPECT_NE(text.find("c-"), std::string::npos) << text;
    EXPECT_NE(text.find("u-"), std::string::npos) << text;
    EXPECT_EQ(read_lines(settings.path).size(), 2u) << text;
    if (format == config::AuditFormat::json) {
      EXPECT_NE(text.find("\"building\":\"north\""), std::string::npos) << text;
    }
  }
}

TEST_F(AuditFileTest, AuditLogCountersStartAtZeroAndCountLines) {
  config::Audit settings;
  settings.path = dir_ + "audit.jsonl";
  prometheus::Registry registry;
  auto value = [&](const std::string& name) {
    for (const auto& family : registry.Collect()) {
      if (family.name == name) {
        return family.metric.at(0).counter.value;
      }
    }
    return -1.0;
  };
  {
    AuditLog log(settings, registry);
    EXPECT_EQ(value("hallpass_audit_lines_total"), 0);
    EXPECT_EQ(value("hallpass_audit_dropped_total"), 0);
    for (int i = 0; i < 10; ++i) {
      log.write(sample("10.0.0.1", ""));
    }
  }
  EXPECT_EQ(value("hallpass_audit_lines_total"), 10);
  EXPECT_EQ(value("hallpass_audit_dropped_total"), 0);
  EXPECT_EQ(read_lines(settings.path).size(), 10u);
  EXPECT_EQ(read_lines(settings.path)[0], audit_line(sample("10.0.0.1", "")));
}

}  // namespace
}  // namespace hallpass::record
