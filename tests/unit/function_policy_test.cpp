// Decisions that depend on the path, the method or headers: social-platform functions,
// anonymizer detection, district-approved platforms, monitor mode, and --explain traces.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "filters/load_error.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"
#include "proxy/http/target.hpp"
#include "tests/unit/request_text.hpp"

namespace hallpass {
namespace {

filters::Decision decide(const filters::Policy& policy, const char* client, const std::string& text,
                         std::string_view content_type = {}, filters::Trace* trace = nullptr) {
  auto asked = testing_support::parse_request_text(text);
  auto who = policy.identify(*filters::IpAddress::parse(client));
  return policy.decide(
      who,
      {asked.method, asked.target.host, asked.target.port, asked.target.path, content_type, {}},
      trace);
}

const filters::Policy& default_policy() {
  static auto policy =
      config::build_policy(config::load_config(std::string(config::kEmbeddedDefault)));
  return *policy;
}

struct Case {
  const char* client;
  const char* request;
  const char* action;
  const char* reason;
  const char* category;
  const char* rule;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.client << " " << c.request;
}

class FunctionsAndAnonymizers : public testing::TestWithParam<Case> {};

TEST_P(FunctionsAndAnonymizers, Decide) {
  const auto& c = GetParam();
  auto decision = decide(default_policy(), c.client, c.request);
  EXPECT_EQ(filters::to_string(decision.action), c.action);
  EXPECT_EQ(decision.reason_code, c.reason);
  EXPECT_EQ(decision.category, c.category);
  EXPECT_EQ(decision.rule, c.rule);
}

constexpr const char* kHsStaff = "10.10.0.5";
constexpr const char* kHsStudent = "10.10.16.5";
constexpr const char* kElStudent = "10.20.17.9";

INSTANTIATE_TEST_SUITE_P(
    Table, FunctionsAndAnonymizers,
    testing::Values(
        // DMs are blocked for everyone; the rest of the platform follows the category.
        Case{kHsStaff, "GET https://www.instagram.com/direct/inbox/", "block",
             "social_function_block", "social-dm", "instagram-direct-web"},
        Case{kHsStaff, "GET https://www.instagram.com/natgeo/", "allow", "category_allow", "social",
             "instagram.com"},
        Case{kHsStaff, "POST https://i.instagram.com/api/v1/media/configure/", "allow",
             "category_allow", "social", "instagram.com"},
        Case{kHsStudent, "POST https://www.instagram.com/api/v1/direct_v2/threads/broadcast/text/",
             "block", "social_function_block", "social-dm", "instagram-direct-api"},
        Case{kHsStudent, "GET https://www.tiktok.com/live", "block", "social_function_block",
             "social-live", "tiktok-live"},
        Case{kHsStudent, "POST https://www.tiktok.com/api/comment/publish/", "allow",
             "category_allow", "social", "tiktok.com"},
        Case{kElStudent, "GET https://www.instagram.com/natgeo/", "block", "category_block",
             "social", "instagram.com"},
        Case{kElStudent, "GET https://www.instagram.com/direct/inbox/", "block",
             "social_function_block", "social-dm", "instagram-direct-web"},
        Case{kHsStaff, "CONNECT www.messenger.com:443", "block", "social_function_block",
             "social-dm", "messenger-site"},
        Case{kHsStaff, "CONNECT www.facebook.com:443", "allow", "category_allow", "social",
             "facebook.com"},
        Case{kHsStaff, "CONNECT gateway.discord.gg:443", "block", "social_function_block",
             "social-dm", "discord-gateway"},
        Case{kHsStaff, "GET https://discord.com/channels/99/42", "allow", "category_allow",
             "social", "discord.com"},
        // Bypass attempts on a path rule still land on it.
        Case{kHsStaff, "GET https://www.instagram.com//direct/inbox", "block",
             "social_function_block", "social-dm", "instagram-direct-web"},
        Case{kHsStaff, "GET https://WWW.INSTAGRAM.COM./DIRECT/inbox", "block",
             "social_function_block", "social-dm", "instagram-direct-web"},
        // Near misses are not the platform.
        Case{kHsStaff, "GET http://www.instagram.com.evil.example/direct/inbox/", "allow",
             "policy_default", "", ""},
        Case{kHsStaff, "GET http://notinstagram.com/direct/", "allow", "policy_default", "", ""},
        // Anonymizers: list, IP-literal CONNECT, DoH, web-proxy signatures; staff included.
        Case{kHsStaff, "CONNECT nordvpn.com:443", "block", "anonymizer_list", "anonymizer",
             "nordvpn.com"},
        Case{kHsStaff, "CONNECT 93.184.216.34:443", "block", "anonymizer_ip_literal", "anonymizer",
             "connect-ip-literal"},
        Case{kHsStaff, "CONNECT [2001:db8::1]:443", "block", "anonymizer_ip_literal", "anonymizer",
             "connect-ip-literal"},
        Case{kHsStaff, "GET http://93.184.216.34/", "allow", "policy_default", "", ""},
        Case{kHsStaff, "GET https://dns.google/dns-query?dns=AAABAAAB", "block", "anonymizer_list",
             "anonymizer", "dns.google"},
        Case{kHsStaff, "POST https://doh.unlisted.example/dns-query", "block", "anonymizer_doh",
             "anonymizer", "dns-over-https"},
        // The DoH path as the server reads it, not as written; and the JSON flavour.
        Case{kHsStaff, "GET https://doh.unlisted.example//dns-query?dns=AAAB", "block",
             "anonymizer_doh", "anonymizer", "dns-over-https"},
        Case{kHsStaff, "GET https://doh.unlisted.example/%64ns-query?dns=AAAB", "block",
             "anonymizer_doh", "anonymizer", "dns-over-https"},
        Case{kHsStaff, "GET https://doh.unlisted.example/x/../dns-query?dns=AAAB", "block",
             "anonymizer_doh", "anonymizer", "dns-over-https"},
        Case{kHsStaff, "GET https://doh.unlisted.example/resolve?name=example.com&type=A", "block",
             "anonymizer_doh", "anonymizer", "dns-over-https"},
        Case{kHsStaff, "GET http://library.unlisted.example/resolve?ticket=4", "allow",
             "policy_default", "", ""},
        // Other notations of an address are the address: CONNECT to 93.184.216.34 in decimal.
        Case{kHsStaff, "CONNECT 1572395042:443", "block", "anonymizer_ip_literal", "anonymizer",
             "connect-ip-literal"},
        Case{kHsStaff, "CONNECT 0x5d.0xb8.0xd8.0x22:443", "block", "anonymizer_ip_literal",
             "anonymizer", "connect-ip-literal"},
        Case{kHsStudent, "GET http://freeproxy.example/browse.php?u=aHR0cHM6Ly9h&b=4", "block",
             "anonymizer_signature", "anonymizer", "glype-browse"},
        Case{kHsStudent, "GET http://www-instagram-com.translate.goog/direct/inbox/", "block",
             "anonymizer_signature", "anonymizer", "translation-proxy"}));

TEST(DohDetection, ByMediaType) {
  auto decision = decide(default_policy(), kHsStaff, "POST https://resolver.unlisted.example/q",
                         "Application/DNS-Message");
  EXPECT_EQ(decision.reason_code, "anonymizer_doh");
}

class CustomPolicy : public testing::Test {
 protected:
  std::shared_ptr<const filters::Policy> load(const std::string& yaml) {
    auto dir = testing::TempDir() + "hallpass_custom_policy/";
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "hallpass.yaml") << yaml;
    return config::build_policy(config::load_config(dir + "hallpass.yaml"));
  }
};

TEST_F(CustomPolicy, ApprovedPlatformsComeBeforeAnonymizersFunctionsAndCategories) {
  auto policy = load("extends: default\napproved: [messenger.com, instagram.com]\n");
  auto decision = decide(*policy, kElStudent, "GET https://www.instagram.com/direct/inbox/");
  EXPECT_EQ(decision.action, filters::Action::allow);
  EXPECT_EQ(decision.step, filters::Step::approved);
  EXPECT_EQ(decision.reason_code, "district_approved");
  EXPECT_EQ(decision.rule, "instagram.com");
}

TEST_F(CustomPolicy, DistrictApprovedListFolderIsStepThreeNotACategory) {
  auto dir = testing::TempDir() + "hallpass_custom_policy/approved/";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "domains") << "# ours\nclassroom.example\nmessenger.com\n";
  auto policy = load("extends: default\nlists: {district-approved: " + dir + "}\n");
  auto decision = decide(*policy, kElStudent, "GET https://www.messenger.com/t/123");
  EXPECT_EQ(decision.action, filters::Action::allow);
  EXPECT_EQ(decision.step, filters::Step::approved);
  EXPECT_EQ(decision.rule, "messenger.com");
  EXPECT_EQ(decide(*policy, kElStudent, "GET https://classroom.example/").reason_code,
            "district_approved");
  EXPECT_EQ(decide(*policy, kElStudent, "GET https://notclassroom.example/").reason_code,
            "policy_default");
}

TEST_F(CustomPolicy, MonitorModeAllowsButRecordsWouldBlock) {
  auto policy = load(
      "extends: default\n"
      "policies:\n"
      "  high-school-student: {categories: {social-post: monitor, adult: monitor}}\n");
  auto post = decide(*policy, kHsStudent, "POST https://i.instagram.com/api/v1/media/configure/");
  EXPECT_EQ(post.action, filters::Action::allow);
  EXPECT_TRUE(post.would_block);
  EXPECT_EQ(post.reason_code, "social_function_monitor");
  EXPECT_EQ(post.category, "social-post");
  auto adult = decide(*policy, kHsStudent, "GET http://www.pornhub.com/");
  EXPECT_EQ(adult.action, filters::Action::allow);
  EXPECT_TRUE(adult.would_block);
  EXPECT_EQ(adult.reason_code, "category_monitor");
  // A real block later in the walk still wins over a monitored match.
  auto dm = decide(*policy, kHsStudent, "GET https://www.instagram.com/direct/inbox/");
  EXPECT_EQ(dm.action, filters::Action::block);
  EXPECT_FALSE(dm.would_block);
  auto plain = decide(*policy, kHsStudent, "GET http://example.org/");
  EXPECT_FALSE(plain.would_block);
}

TEST_F(CustomPolicy, PoliciesExtendOthers) {
  auto policy = load(
      "extends: default\n"
      "policies:\n"
      "  base-x: {default: block, safesearch: moderate, categories: {social: allow, adult: "
      "block}}\n"
      "  derived: {extends: base-x, categories: {social: block}}\n"
      "  derived2: {extends: derived, default: allow}\n"
      "buildings:\n"
      "  high-school: {policy: {student: derived2}}\n");
  auto social = decide(*policy, kHsStudent, "GET http://www.instagram.com/natgeo/");
  EXPECT_EQ(social.action, filters::Action::block);  // derived's own category action
  EXPECT_EQ(social.reason_code, "category_block");
  EXPECT_EQ(decide(*policy, kHsStudent, "GET http://www.pornhub.com/").category, "adult");
  auto plain = decide(*policy, kHsStudent, "GET http://example.org/");
  EXPECT_EQ(plain.action, filters::Action::allow);  // derived2's own default
  EXPECT_EQ(plain.reason_code, "policy_default");
  auto student = policy->identify(*filters::IpAddress::parse(kHsStudent));
  EXPECT_EQ(policy->enforcement(student, "www.youtube.com").connect_via,
            "restrictmoderate.youtube.com");  // base-x's safesearch
}

TEST_F(CustomPolicy, ExtendsErrorsNameThePolicy) {
  auto error_of = [&](const std::string& policies) {
    try {
      load("extends: default\npolicies:\n" + policies);
      return std::string();
    } catch (const filters::LoadError& e) {
      return std::string(e.what());
    }
  };
  EXPECT_NE(error_of("  a: {extends: nowhere}\n").find("extends unknown policy \"nowhere\""),
            std::string::npos);
  EXPECT_NE(error_of("  a: {extends: b}\n  b: {extends: a}\n").find("comes back to itself"),
            std::string::npos);
}

TEST_F(CustomPolicy, UnknownCategoryActionIsAnError) {
  EXPECT_THROW(load("extends: default\npolicies: {staff: {categories: {social-dm: maybe}}}\n"),
               filters::LoadError);
}

TEST_F(CustomPolicy, SchedulesReplaceCategoryActionsInTheirWindow) {
  auto policy = load(
      "extends: default\n"
      "policies:\n"
      "  high-school-student:\n"
      "    schedules:\n"
      "      - name: school-hours\n"
      "        days: [mon, tue, wed, thu, fri]\n"
      "        from: \"07:30\"\n"
      "        to: \"14:30\"\n"
      "        categories: {social: block}\n");
  auto student = policy->identify(*filters::IpAddress::parse(kHsStudent));
  auto at = [&](std::int8_t weekday, int hour, int minute) {
    filters::Request request{"GET", "www.instagram.com", 80, "/natgeo/"};
    request.when = {weekday, static_cast<std::int16_t>(hour * 60 + minute)};
    return policy->decide(student, request);
  };
  auto monday_morning = at(0, 10, 0);
  EXPECT_EQ(monday_morning.action, filters::Action::block);
  EXPECT_EQ(monday_morning.schedule, "school-hours");
  EXPECT_EQ(monday_morning.reason_code, "category_block");
  EXPECT_EQ(at(0, 7, 30).action, filters::Action::block);   // from is inclusive
  EXPECT_EQ(at(4, 14, 29).action, filters::Action::block);  // Friday
  EXPECT_EQ(at(0, 14, 30).action, filters::Action::allow);  // to is exclusive
  EXPECT_EQ(at(0, 7, 29).action, filters::Action::allow);
  EXPECT_EQ(at(5, 10, 0).action, filters::Action::allow);   // Saturday
  EXPECT_EQ(at(-1, 10, 0).action, filters::Action::allow);  // time unknown: no schedule
  EXPECT_TRUE(at(0, 15, 0).schedule.empty());
  // Staff have no schedule.
  auto staff = policy->identify(*filters::IpAddress::parse(kHsStaff));
  filters::Request request{"GET", "www.instagram.com", 80, "/natgeo/"};
  request.when = {0, 600};
  EXPECT_EQ(policy->decide(staff, request).action, filters::Action::allow);
}

TEST_F(CustomPolicy, BadSchedulesAreRefusedWithTheirLine) {
  auto error_of = [&](const std::string& schedule) {
    try {
      load("extends: default\npolicies:\n  staff:\n    schedules:\n" + schedule);
      return std::string();
    } catch (const filters::LoadError& e) {
      return std::string(e.what());
    }
  };
  EXPECT_NE(
      error_of("      - {days: [mon], from: \"09:00\", to: \"08:00\"}\n").find("must be later"),
      std::string::npos);
  EXPECT_NE(error_of("      - {days: [funday], from: \"09:00\", to: \"10:00\"}\n").find("funday"),
            std::string::npos);
  EXPECT_NE(error_of("      - {days: [mon], from: \"9am\", to: \"10:00\"}\n").find("HH:MM"),
            std::string::npos);
  EXPECT_NE(
      error_of("      - {days: [mon], from: \"09:00\", to: \"10:00\", categories: {nope: block}}\n")
          .find("schedule"),
      std::string::npos);
}

TEST(Explain, NamesEveryStepTriedUntilTheDecidingOne) {
  filters::Trace trace;
  auto decision =
      decide(default_policy(), kHsStaff, "GET https://www.instagram.com/direct/t/1/", {}, &trace);
  ASSERT_EQ(decision.step, filters::Step::social_function);
  ASSERT_GE(trace.steps.size(), 3u);
  EXPECT_EQ(trace.steps.front().first, filters::Step::approved);
  EXPECT_EQ(trace.steps.back().first, filters::Step::social_function);
  EXPECT_NE(trace.steps.back().second.find("instagram-direct-web"), std::string::npos);
  EXPECT_NE(trace.steps.back().second.find("blocked by policy staff"), std::string::npos);
}

}  // namespace
}  // namespace hallpass
