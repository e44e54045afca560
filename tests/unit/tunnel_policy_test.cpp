// What a tunnel's first bytes decide (not TLS, no server name, domain fronting, the server
// name decided again), which tunnels are decrypted, and registrable domains.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "filters/load_error.hpp"
#include "filters/registrable_domain.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"

namespace hallpass {
namespace {

std::shared_ptr<const filters::Policy> load(const std::string& yaml) {
  auto dir = testing::TempDir() + "hallpass_tunnel_policy/";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "hallpass.yaml") << yaml;
  return config::build_policy(config::load_config(dir + "hallpass.yaml"));
}

const filters::Policy& default_policy() {
  static auto policy =
      config::build_policy(config::load_config(std::string(config::kEmbeddedDefault)));
  return *policy;
}

filters::Client who(const filters::Policy& policy, const char* address) {
  return policy.identify(*filters::IpAddress::parse(address));
}

struct SiteCase {
  const char* a;
  const char* b;
  bool same;
};

class SameSite : public testing::TestWithParam<SiteCase> {};

TEST_P(SameSite, ByRegistrableDomain) {
  EXPECT_EQ(filters::same_site(GetParam().a, GetParam().b), GetParam().same)
      << GetParam().a << " " << GetParam().b;
}

INSTANTIATE_TEST_SUITE_P(
    PublicSuffixList, SameSite,
    testing::Values(SiteCase{"www.instagram.com", "i.instagram.com", true},
                    SiteCase{"instagram.com", "www.instagram.com", true},
                    SiteCase{"notinstagram.com", "instagram.com", false},
                    SiteCase{"instagram.com.evil.example", "instagram.com", false},
                    SiteCase{"bbc.co.uk", "news.bbc.co.uk", true},
                    SiteCase{"a.co.uk", "b.co.uk", false},  // co.uk is a public suffix
                    SiteCase{"alice.github.io", "bob.github.io", false},
                    SiteCase{"alice.github.io", "www.alice.github.io", true},
                    SiteCase{"127.0.0.1", "10.0.0.1", false},  // IP literals stand alone
                    SiteCase{"127.0.0.1", "127.0.0.1", true},
                    SiteCase{"xn--bcher-kva.example", "www.xn--bcher-kva.example", true}));

TEST(RegistrableDomain, IsAViewIntoTheHost) {
  EXPECT_EQ(filters::registrable_domain("cdn.assets.example.com"), "example.com");
  EXPECT_EQ(filters::registrable_domain("com"), "com");
  EXPECT_EQ(filters::registrable_domain("::1"), "::1");
}

struct TunnelCase {
  const char* client;
  const char* connect_host;
  bool is_tls;
  const char* server_name;
  const char* action;
  const char* reason;
  const char* rule;
};

void PrintTo(const TunnelCase& c, std::ostream* os) {
  *os << c.client << " CONNECT " << c.connect_host << " sni=" << c.server_name;
}

class DefaultTunnels : public testing::TestWithParam<TunnelCase> {};

TEST_P(DefaultTunnels, DecideOnTheFirstBytes) {
  const auto& c = GetParam();
  const auto& policy = default_policy();
  filters::Request connect{"CONNECT", c.connect_host, 443, ""};
  auto decision = policy.decide_tunnel(who(policy, c.client), connect, {c.is_tls, c.server_name});
  EXPECT_EQ(filters::to_string(decision.action), c.action);
  EXPECT_EQ(decision.reason_code, c.reason);
  EXPECT_EQ(decision.rule, c.rule);
}

constexpr const char* kHsStaff = "10.10.0.5";
constexpr const char* kElStudent = "10.20.17.9";

INSTANTIATE_TEST_SUITE_P(
    Shipped, DefaultTunnels,
    testing::Values(
        TunnelCase{kHsStaff, "www.example.org", true, "www.example.org", "allow", "policy_default",
                   ""},
        TunnelCase{kHsStaff, "example.org", true, "cdn.example.org", "allow", "policy_default", ""},
        TunnelCase{kHsStaff, "www.example.org", false, "", "block", "anonymizer_not_tls",
                   "not-tls"},
        TunnelCase{kHsStaff, "www.example.org", true, "", "block", "anonymizer_no_sni", "no-sni"},
        TunnelCase{kHsStaff, "www.example.org", true, "93.184.216.34", "block", "anonymizer_no_sni",
                   "no-sni"},
        TunnelCase{kHsStaff, "www.example.org", true, "www.instagram.com", "block",
                   "anonymizer_fronting", "domain-fronting"},
        TunnelCase{kHsStaff, "allowed.example", true, "blocked.example.com", "block",
                   "anonymizer_fronting", "domain-fronting"},
        // The server name is decided again: a listed site behind an innocent CONNECT host
        // of the same site is still that site.
        TunnelCase{kHsStaff, "edu.messenger.com", true, "www.messenger.com", "block",
                   "social_function_block", "messenger-site"},
        TunnelCase{kElStudent, "static.example.org", true, "static.example.org", "allow",
                   "policy_default", ""},
        TunnelCase{kElStudent, "www.example.org", true, "www.tiktok.com", "block",
                   "anonymizer_fronting", "domain-fronting"}));

TEST(Tunnels, BuildingAllowOutranksTunnellingChecksButNotFronting) {
  auto policy = load(
      "extends: default\n"
      "buildings:\n"
      "  high-school: {allow: [ssh.district.example]}\n");
  auto staff = who(*policy, kHsStaff);
  filters::Request connect{"CONNECT", "ssh.district.example", 443, ""};
  EXPECT_EQ(policy->decide_tunnel(staff, connect, {false, ""}).reason_code, "building_allow");
  EXPECT_EQ(policy->decide_tunnel(staff, connect, {true, ""}).reason_code, "building_allow");
  EXPECT_EQ(policy->decide_tunnel(staff, connect, {true, "elsewhere.example"}).reason_code,
            "anonymizer_fronting");
}

TEST(Tunnels, NoSniAllowedWhenThePolicySaysSo) {
  auto policy = load("extends: default\npolicies:\n  staff: {no_sni: allow}\n");
  filters::Request connect{"CONNECT", "www.example.org", 443, ""};
  EXPECT_EQ(policy->decide_tunnel(who(*policy, kHsStaff), connect, {true, ""}).action,
            filters::Action::allow);
  EXPECT_EQ(policy->decide_tunnel(who(*policy, kElStudent), connect, {true, ""}).reason_code,
            "anonymizer_no_sni");
}

TEST(Inspection, DefaultInspectsSocialShortenersAndAnonymizersOnly) {
  const auto& policy = default_policy();
  auto staff = who(policy, kHsStaff);
  EXPECT_TRUE(policy.tls_plan(staff, "www.instagram.com").inspect);
  EXPECT_TRUE(policy.tls_plan(staff, "i.instagram.com").inspect);
  EXPECT_TRUE(policy.tls_plan(staff, "bit.ly").inspect);
  EXPECT_FALSE(policy.tls_plan(staff, "www.example.org").inspect);
  EXPECT_FALSE(policy.tls_plan(staff, "notinstagram.com").inspect);
  auto plan = policy.tls_plan(staff, "www.example.org");
  EXPECT_EQ(plan.settings.on_inspect_failure, filters::InspectFailure::block);
  EXPECT_EQ(plan.settings.no_sni, filters::Action::block);
  EXPECT_TRUE(plan.settings.block_page);
}

TEST(Inspection, NeverInspectWinsAndDomainsAndExtendsWork) {
  auto policy = load(
      "extends: default\n"
      "never_inspect: [secure.instagram.com]\n"
      "policies:\n"
      "  staff: {inspect: [social, portal.example.edu], on_inspect_failure: splice}\n"
      "  kiosk: {extends: staff, tls_block_page: false}\n"
      "buildings:\n"
      "  high-school: {policy: {staff: kiosk, student: high-school-student}}\n");
  auto staff = who(*policy, kHsStaff);
  EXPECT_TRUE(policy->tls_plan(staff, "www.instagram.com").inspect);
  EXPECT_FALSE(policy->tls_plan(staff, "secure.instagram.com").inspect);
  EXPECT_TRUE(policy->tls_plan(staff, "a.portal.example.edu").inspect);
  EXPECT_FALSE(policy->tls_plan(staff, "bit.ly").inspect);  // the list was replaced
  auto plan = policy->tls_plan(staff, "www.example.org");
  EXPECT_EQ(plan.settings.on_inspect_failure, filters::InspectFailure::splice);
  EXPECT_FALSE(plan.settings.block_page);
}

TEST(Inspection, ATypoIsRefusedWithItsLocation) {
  try {
    load("extends: default\npolicies:\n  staff: {inspect: [socail]}\n");
    FAIL() << "loaded";
  } catch (const filters::LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("\"socail\" is neither a category nor a domain"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("hallpass.yaml"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hallpass
