// UT1 `urls` (host/path prefixes) and Hallpass `patterns` beside a list's `domains`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "filters/load_error.hpp"
#include "proxy/config/load.hpp"
#include "tests/unit/request_text.hpp"

namespace hallpass {
namespace {

class UrlLists : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "hallpass_urls_" +
           testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "games");
    write("games/domains", "listed.test\n");
    write("hallpass.yaml",
          "extends: default\n"
          "lists: {games: games}\n"
          "policies: {student-strict: {categories: {games: block}}}\n");
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + name) << text;
  }
  std::shared_ptr<const filters::Policy> load() {
    return config::build_policy(config::load_config(dir_ + "hallpass.yaml"));
  }
  filters::Decision decide(const filters::Policy& policy, const std::string& text) {
    auto asked = testing_support::parse_request_text(text);
    auto client = policy.identify(*filters::IpAddress::parse("127.0.0.1"));
    return policy.decide(client,
                         {asked.method, asked.target.host, asked.target.port, asked.target.path});
  }
  std::string dir_;
};

TEST_F(UrlLists, PrefixesAndPatternsJoinTheirCategory) {
  write("games/urls", "# UT1 urls\ngames.test/flash/\nwww.example.org/ads\nbare.test\n");
  write("games/patterns", "# regexes over host/path?query\n/cheats?/[a-z]+\\.php\n");
  auto policy = load();
  auto flash = decide(*policy, "GET http://games.test/flash/tetris.swf");
  EXPECT_EQ(flash.action, filters::Action::block);
  EXPECT_EQ(flash.category, "games");
  EXPECT_EQ(flash.rule, "games.test/flash/");
  EXPECT_EQ(decide(*policy, "GET http://games.test/homework").action, filters::Action::allow);
  EXPECT_EQ(decide(*policy, "GET http://cdn.example.org/ads/1.js").rule, "www.example.org/ads");
  EXPECT_EQ(decide(*policy, "GET http://example.org/news").action, filters::Action::allow);
  EXPECT_EQ(decide(*policy, "GET http://bare.test/x").action, filters::Action::block);
  auto cheat = decide(*policy, "GET http://anything.test/cheat/aimbot.php?x=1");
  EXPECT_EQ(cheat.action, filters::Action::block);
  EXPECT_EQ(cheat.rule, "/cheats?/[a-z]+\\.php");
  // Paths are normalized first: a doubled slash does not slip past a prefix.
  EXPECT_EQ(decide(*policy, "GET http://games.test//flash/x").action, filters::Action::block);
  // A tunnel has no path: only domain entries apply to it.
  EXPECT_EQ(decide(*policy, "CONNECT games.test:443").action, filters::Action::allow);
  EXPECT_EQ(decide(*policy, "CONNECT listed.test:443").action, filters::Action::block);
}

TEST_F(UrlLists, BadEntriesNameFileAndLine) {
  write("games/urls", "good.test/a\nbad host/x\n");
  try {
    load();
    FAIL() << "a bad urls entry loaded";
  } catch (const filters::LoadError& e) {
    EXPECT_EQ(std::string(e.what()), dir_ + "games/urls:2: not a host/path entry: \"bad host/x\"");
  }
  std::filesystem::remove(dir_ + "games/urls");
  write("games/patterns", "fine\n\n(broken\n");
  try {
    load();
    FAIL() << "a bad pattern compiled";
  } catch (const filters::LoadError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir_ + "games/patterns:3: pattern \"(broken\"", 0), 0u)
        << e.what();
  }
}

}  // namespace
}  // namespace hallpass
