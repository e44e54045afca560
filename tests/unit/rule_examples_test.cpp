// Runs every example shipped with the social-function rules and anonymizer signatures:
// each `match` must be decided by its rule, each `no_match` must not.
#include <gtest/gtest.h>

#include <set>

#include "filters/host.hpp"
#include "filters/url_path.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"
#include "proxy/http/target.hpp"
#include "tests/unit/request_text.hpp"

namespace hallpass {
namespace {

using testing_support::parse_request_text;

const config::Config& default_config() {
  static auto config = config::load_config(std::string(config::kEmbeddedDefault));
  return config;
}

const filters::Policy& default_policy() {
  static auto policy = config::build_policy(default_config());
  return *policy;
}

std::string function_rule_for(const std::string& text) {
  auto example = parse_request_text(text);
  auto path =
      example.method == "CONNECT" ? std::string() : filters::normalize_path(example.target.path);
  const auto* rule = default_policy().functions().match(example.target.host, example.method, path);
  return rule != nullptr ? rule->id : "";
}

TEST(FunctionRuleExamples, EveryRuleHasExamplesAndEachOneHolds) {
  const auto& rules = default_config().policy.functions;
  ASSERT_GE(rules.size(), 30u);
  std::size_t checked = 0;
  for (const auto& rule : rules) {
    EXPECT_FALSE(rule.examples.match.empty()) << rule.id << " has no match example";
    EXPECT_FALSE(rule.examples.no_match.empty()) << rule.id << " has no no_match example";
    for (const auto& text : rule.examples.match) {
      EXPECT_EQ(function_rule_for(text), rule.id)
          << rule.where.file << ":" << rule.where.line << ": " << text;
      ++checked;
    }
    for (const auto& text : rule.examples.no_match) {
      EXPECT_NE(function_rule_for(text), rule.id)
          << rule.where.file << ":" << rule.where.line << ": " << text;
      ++checked;
    }
  }
  EXPECT_GE(checked, 100u);
}

TEST(FunctionRuleExamples, EveryMajorPlatformHasADirectMessageRule) {
  std::set<std::string> with_dm;
  for (const auto& rule : default_config().policy.functions) {
    if (rule.function == "dm") {
      with_dm.insert(rule.platform);
    }
  }
  for (const char* platform :
       {"instagram", "facebook", "x", "tiktok", "snapchat", "discord", "linkedin", "reddit"}) {
    EXPECT_TRUE(with_dm.count(platform)) << platform;
  }
}

TEST(SignatureExamples, EachOneHolds) {
  const auto& signatures = default_config().policy.signatures;
  ASSERT_GE(signatures.size(), 5u);
  const auto& policy = default_policy();
  auto client = policy.identify(*filters::IpAddress::parse("10.10.0.5"));  // staff
  for (const auto& signature : signatures) {
    EXPECT_FALSE(signature.examples.match.empty()) << signature.id;
    EXPECT_FALSE(signature.examples.no_match.empty()) << signature.id;
    auto decide = [&](const std::string& text) {
      auto example = parse_request_text(text);
      return policy.decide(
          client,
          {example.method, example.target.host, example.target.port, example.target.path, {}, {}});
    };
    for (const auto& text : signature.examples.match) {
      auto decision = decide(text);
      EXPECT_EQ(decision.rule, signature.id) << text;
      EXPECT_EQ(decision.reason_code, "anonymizer_signature") << text;
      EXPECT_EQ(decision.action, filters::Action::block) << text;
    }
    for (const auto& text : signature.examples.no_match) {
      EXPECT_NE(decide(text).rule, signature.id) << text;
    }
  }
}

}  // namespace
}  // namespace hallpass
