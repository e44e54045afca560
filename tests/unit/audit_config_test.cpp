// The `audit:` keys: format, fractional sizes, and the pseudonym key file, refused with a
// message naming the file when it is missing, short, or readable by every user.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "filters/load_error.hpp"
#include "proxy/config/load.hpp"

namespace hallpass::config {
namespace {

class AuditConfig : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "hallpass_audit_config_" +
           testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    std::ofstream(dir_ + name) << text;
    ::chmod((dir_ + name).c_str(), mode);
    return dir_ + name;
  }
  std::string config(const std::string& audit) {
    return write("hallpass.yaml", "extends: default\naudit:\n" + audit, 0644);
  }
  std::string error_of(const std::string& path) {
    try {
      load_config(path);
      return "";
    } catch (const filters::LoadError& e) {
      return e.what();
    }
  }
  std::string dir_;
};

TEST_F(AuditConfig, DefaultsAreJsonUnmaskedAndTheOldSizes) {
  auto c = load_config(config("  path: a.jsonl\n"));
  EXPECT_EQ(c.audit.path, dir_ + "a.jsonl");
  EXPECT_EQ(c.audit.format, AuditFormat::json);
  EXPECT_FALSE(c.audit.pseudonymize);
  EXPECT_EQ(c.audit.max_size_bytes, 100u * 1024 * 1024);
  EXPECT_EQ(c.audit.max_files, 10u);
}

TEST_F(AuditConfig, ReadsFormatFractionalSizeAndKey) {
  write("audit.key", std::string(64, 'a') + "\n");
  auto c = load_config(
      config("  format: squid\n  max_size_mb: 0.25\n  max_files: 3\n  pseudonymize: true\n"
             "  pseudonym_key_file: audit.key\n"));
  EXPECT_EQ(c.audit.format, AuditFormat::squid);
  EXPECT_EQ(c.audit.max_size_bytes, 256u * 1024);
  EXPECT_EQ(c.audit.max_files, 3u);
  EXPECT_TRUE(c.audit.pseudonymize);
  EXPECT_EQ(c.audit.pseudonym_key, std::string(64, 'a')) << "the line end is not part of it";
}

TEST_F(AuditConfig, RefusesBadValuesWithFileAndLine) {
  struct Case {
    std::string audit;
    std::string expected;
  } cases[] = {
      {"  format: csv\n", "hallpass.yaml:3: audit.format: expected json or squid"},
      {"  max_size_mb: 0\n", "hallpass.yaml:3: audit.max_size_mb: expected a size in MB"},
      {"  max_size_mb: lots\n", "hallpass.yaml:3: audit.max_size_mb"},
      {"  max_files: 0\n", "hallpass.yaml:3: audit.max_files: must be at least 1"},
      {"  pseudonymize: yes please\n", "hallpass.yaml:3: audit.pseudonymize: expected true"},
      {"  pseudonymise: true\n", "hallpass.yaml:3: audit.pseudonymise: unknown key"},
  };
  for (const auto& c : cases) {
    auto error = error_of(config(c.audit));
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.audit << " gave: " << error;
  }
}

TEST_F(AuditConfig, RefusesAMissingShortOrWorldReadableKeyNamingTheFile) {
  write("short.key", "0123456789");
  write("open.key", std::string(64, 'b'), 0644);
  write("group-writable.key", std::string(64, 'c'), 0660);
  struct Case {
    std::string audit;
    std::string expected;
  } cases[] = {
      {"  pseudonymize: true\n",
       "hallpass.yaml: audit.pseudonymize is true but audit.pseudonym_key_file is not set"},
      {"  pseudonymize: true\n  pseudonym_key_file: absent.key\n",
       "absent.key: audit.pseudonym_key_file: cannot read the key: No such file"},
      {"  pseudonymize: true\n  pseudonym_key_file: short.key\n",
       "short.key: audit.pseudonym_key_file: the key has 10 bytes; at least 32"},
      {"  pseudonymize: true\n  pseudonym_key_file: open.key\n",
       "open.key: audit.pseudonym_key_file: readable by every user or writable by more than"},
      {"  pseudonymize: true\n  pseudonym_key_file: group-writable.key\n",
       "group-writable.key: audit.pseudonym_key_file: readable by every user or writable by"},
  };
  for (const auto& c : cases) {
    auto error = error_of(config(c.audit));
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.audit << " gave: " << error;
  }
  // Not pseudonymizing: the key file is not needed, so not read.
  EXPECT_EQ(error_of(config("  pseudonym_key_file: absent.key\n")), "");
}

}  // namespace
}  // namespace hallpass::config
