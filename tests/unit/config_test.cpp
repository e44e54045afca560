// Config loading: `extends`, merging, path resolution, and errors that name file:line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "filters/load_error.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"

namespace hallpass::config {
namespace {

class ConfigFiles : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "hallpass_config_" +
           testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(dir_ + name).parent_path());
    std::ofstream(dir_ + name) << text;
    return dir_ + name;
  }
  // Loads `path` and builds its policy; returns the error text, or "" when it loads.
  std::string error_of(const std::string& path) {
    try {
      build_policy(load_config(path));
      return "";
    } catch (const filters::LoadError& e) {
      return e.what();
    }
  }
  std::string dir_;
};

TEST_F(ConfigFiles, EmbeddedDefaultHasTheContractedListeners) {
  auto config = load_config(std::string(kEmbeddedDefault));
  EXPECT_EQ(config.listen, std::vector<std::string>{"127.0.0.1:3128"});
  EXPECT_EQ(config.admin_listen, "127.0.0.1:9130");
  EXPECT_EQ(config.connect_ports, std::vector<std::uint16_t>{443});
  EXPECT_FALSE(config.upstream.allow_loopback);
  EXPECT_EQ(config.policy.lists.size(), 7u);  // five categories, approved, never-inspect
  EXPECT_EQ(config.policy.lists[0].folder, "embedded:/filters/lists/anonymizer");
}

TEST_F(ConfigFiles, ExtendsMergesNamedMapsAndReplacesTheRest) {
  write("lists/games/domains", "games.test\n");
  auto path = write("site.yaml",
                    "extends: default\n"
                    "listen: [\"127.0.0.1:0\"]\n"
                    "clients: [192.0.2.0/24]\n"
                    "timeouts: {head: 2.5}\n"
                    "upstream: {resolve: {a.test: 127.0.0.1}}\n"
                    "lists: {games: lists/games}\n"
                    "policies: {student-strict: {categories: {games: block}}}\n"
                    "buildings: {default: {block: [Blocked.Test.]}}\n");
  auto config = load_config(path);
  EXPECT_EQ(config.listen, std::vector<std::string>{"127.0.0.1:0"});
  ASSERT_EQ(config.policy.clients.size(), 1u);
  EXPECT_DOUBLE_EQ(config.timeouts.head.count(), 2.5);
  EXPECT_DOUBLE_EQ(config.timeouts.idle.count(), 60);  // untouched keys keep the base value
  EXPECT_EQ(config.upstream.resolve.at("a.test"), "127.0.0.1");
  EXPECT_EQ(config.policy.lists.size(), 8u);
  EXPECT_EQ(config.policy.lists.back().folder, dir_ + "lists/games");
  auto policy = build_policy(config);
  auto student = policy->identify(*filters::IpAddress::parse("127.0.0.1"));
  EXPECT_EQ(policy->decide(student, {"GET", "games.test", 80, "/", {}, {}}).category, "games");
  // The default's own categories survive the merge.
  EXPECT_EQ(policy->decide(student, {"GET", "nordvpn.com", 80, "/", {}, {}}).category,
            "anonymizer");
  EXPECT_EQ(policy->decide(student, {"GET", "blocked.test", 80, "/", {}, {}}).reason_code,
            "building_block");
}

struct BadConfig {
  const char* name;
  const char* yaml;
  const char* expected;  // substring after "<file>:"
};

void PrintTo(const BadConfig& c, std::ostream* os) {
  *os << c.name;
}

class BadConfigs : public ConfigFiles, public testing::WithParamInterface<BadConfig> {};

TEST_P(BadConfigs, NameFileLineAndProblem) {
  auto path = write("bad.yaml", GetParam().yaml);
  auto error = error_of(path);
  EXPECT_EQ(error.rfind(path + ":", 0), 0u) << error;
  EXPECT_NE(error.find(GetParam().expected), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfigs,
    testing::Values(
        BadConfig{"bad_cidr", "extends: default\nclients:\n  - 10.0.0.0/8\n  - 10.0.0.0/99\n",
                  "4: clients[1]: \"10.0.0.0/99\" is not a network: prefix length must be 0-32"},
        BadConfig{"unknown_key", "extends: default\nlistne: []\n", "2: listne: unknown key"},
        BadConfig{"nested_unknown", "extends: default\ntimeouts:\n  hed: 3\n",
                  "3: timeouts.hed: unknown key"},
        BadConfig{"bad_action", "extends: default\npolicies:\n  staff:\n    default: maybe\n",
                  "4: policies.staff.default: expected allow or block"},
        BadConfig{"bad_on_oversize",
                  "extends: default\npolicies:\n  staff:\n    on_oversize: drop\n",
                  "4: policies.staff.on_oversize: expected forward or block, got \"drop\""},
        BadConfig{"unknown_category",
                  "extends: default\npolicies:\n  staff:\n    categories: {gamez: block}\n",
                  "unknown category \"gamez\""},
        BadConfig{"unknown_policy", "extends: default\nbuildings:\n  x:\n    policy: nope\n",
                  "4: building \"x\": unknown policy \"nope\""},
        BadConfig{"bad_domain", "extends: default\nbuildings:\n  default:\n    block: [\"a b\"]\n",
                  "4: buildings.default.block[0]: \"a b\" is not a domain"},
        BadConfig{"bad_seconds", "extends: default\ntimeouts: {idle: -1}\n",
                  "2: timeouts.idle: expected a positive number of seconds"},
        BadConfig{"bad_port", "extends: default\nconnect_ports: [443, 70000]\n",
                  "2: connect_ports[1]: port must be 1-65535"},
        BadConfig{"yaml_syntax", "extends: default\nclients: [10.0.0.0/8\n", "3: "},
        BadConfig{"missing_list", "extends: default\nlists: {games: nowhere}\n",
                  "2: list \"games\": cannot read"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(ConfigFiles, BadListLineIsReportedInTheListFile) {
  write("lists/games/domains", "ok.test\n\nexa mple.com\n");
  auto path = write("site.yaml", "extends: default\nlists: {games: lists/games}\n");
  EXPECT_EQ(error_of(path), dir_ + "lists/games/domains:3: not a domain: \"exa mple.com\"");
}

// yaml-cpp answers a missing key with a node that throws on every question, its position
// included: the error names the line of the mapping that should hold the key.
TEST_F(ConfigFiles, MissingRequiredKeyNamesFileAndLine) {
  write("extra-rules.yaml", "signatures:\n  - id: x\n    description: no url\n");
  auto rules = write("rules.yaml", "extends: default\nrules: {extra: extra-rules.yaml}\n");
  EXPECT_EQ(error_of(rules),
            dir_ + "extra-rules.yaml:2: signatures[0].url: missing; this key is required");
  write("extra-patterns.yaml",
        "category: pii\npatterns:\n  - id: a\n    weight: 1\n  - id: b\n    weight: 2\n");
  auto patterns = write("patterns.yaml",
                        "extends: default\ncontent:\n  patterns: {pii: extra-patterns.yaml}\n");
  auto error = error_of(patterns);
  EXPECT_EQ(error.rfind(dir_ + "extra-patterns.yaml:3: ", 0), 0u) << error;
  EXPECT_NE(error.find(".regex: missing; this key is required"), std::string::npos) << error;
}

TEST_F(ConfigFiles, MissingFileAndExtendsCycleAreErrors) {
  EXPECT_NE(error_of(dir_ + "absent.yaml").find("cannot read the file"), std::string::npos);
  auto path = write("loop.yaml", "extends: loop.yaml\n");
  EXPECT_NE(error_of(path).find("deeper than 8"), std::string::npos);
}

}  // namespace
}  // namespace hallpass::config
