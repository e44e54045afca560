// The proxy-authentication users file, and the verifiers `hallpass passwd` makes.
#include "proxy/config/users_file.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "filters/load_error.hpp"
#include "proxy/session/auth.hpp"

namespace hallpass::config {
namespace {

std::string write_users(const std::string& text) {
  auto path = testing::TempDir() + "hallpass_users_" +
              testing::UnitTest::GetInstance()->current_test_info()->name();
  std::ofstream(path) << text;
  return path;
}

TEST(UsersFile, ReadsUsersMadeByPasswd) {
  auto verifier = session::make_verifier("s3cret", 10000);
  auto path =
      write_users("# users\n\nalice:staff:" + verifier + "\nbob:student:" + verifier + "\n");
  auto users = load_users_file(path);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(users[0].role, filters::Role::staff);
  EXPECT_EQ(users[1].role, filters::Role::student);
  EXPECT_NE(verifier.find("pbkdf2-sha256$10000$"), std::string::npos);
  EXPECT_NE(session::make_verifier("s3cret", 10000), verifier) << "salts must differ";
}

TEST(UsersFile, RefusesWeakOrMalformedLinesWithFileAndLine) {
  auto good = session::make_verifier("x", 10000);
  struct Case {
    std::string text;
    std::string expected;
  } cases[] = {
      {"alice:staff:plaintext\n", ":1: user \"alice\": expected pbkdf2-sha256"},
      {"# c\nalice:teacher:" + good + "\n", ":2: role must be staff or student"},
      {"alice\n", ":1: expected NAME:ROLE:VERIFIER"},
      {"alice:staff:pbkdf2-sha256$1000$00$" + std::string(64, 'a') + "\n",
       ":1: user \"alice\": expected pbkdf2-sha256$ITERATIONS$SALT$HASH with at least 10000"},
  };
  for (const auto& c : cases) {
    auto path = write_users(c.text);
    try {
      load_users_file(path);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const filters::LoadError& e) {
      EXPECT_NE(std::string(e.what()).find(path + c.expected), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace hallpass::config
