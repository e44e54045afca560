#include "filters/enforcement.hpp"

#include <gtest/gtest.h>

namespace hallpass::filters {
namespace {

struct ViaCase {
  const char* host;
  SafeSearch level;
  const char* via;  // "" for none
};

void PrintTo(const ViaCase& c, std::ostream* os) {
  *os << c.host;
}

class SafeSearchVia : public testing::TestWithParam<ViaCase> {};

TEST_P(SafeSearchVia, PicksTheProvidersEnforcementHost) {
  EXPECT_EQ(enforcement_for(GetParam().host, GetParam().level, nullptr).connect_via,
            GetParam().via);
}

INSTANTIATE_TEST_SUITE_P(
    Table, SafeSearchVia,
    testing::Values(ViaCase{"www.google.com", SafeSearch::strict, "forcesafesearch.google.com"},
                    ViaCase{"google.com", SafeSearch::moderate, "forcesafesearch.google.com"},
                    ViaCase{"www.google.co.uk", SafeSearch::strict, "forcesafesearch.google.com"},
                    ViaCase{"www.google.de", SafeSearch::strict, "forcesafesearch.google.com"},
                    ViaCase{"mail.google.com", SafeSearch::strict, ""},
                    ViaCase{"google.com.evil.example", SafeSearch::strict, ""},
                    ViaCase{"www.youtube.com", SafeSearch::strict, "restrict.youtube.com"},
                    ViaCase{"m.youtube.com", SafeSearch::moderate, "restrictmoderate.youtube.com"},
                    ViaCase{"youtubei.googleapis.com", SafeSearch::strict, "restrict.youtube.com"},
                    ViaCase{"www.bing.com", SafeSearch::strict, "strict.bing.com"},
                    ViaCase{"duckduckgo.com", SafeSearch::strict, "safe.duckduckgo.com"},
                    ViaCase{"www.google.com", SafeSearch::off, ""},
                    ViaCase{"www.youtube.com", SafeSearch::off, ""}));

TEST(Enforcement, YouTubeHeaderFollowsTheLevel) {
  auto strict = enforcement_for("www.youtube.com", SafeSearch::strict, nullptr);
  ASSERT_EQ(strict.headers.size(), 1u);
  EXPECT_EQ(strict.headers[0].name, "YouTube-Restrict");
  EXPECT_EQ(strict.headers[0].value, "Strict");
  EXPECT_EQ(enforcement_for("www.youtube.com", SafeSearch::moderate, nullptr).headers[0].value,
            "Moderate");
}

TEST(Enforcement, AccountRestrictionsOnlyOnTheirSignInHosts) {
  AccountRestrictions accounts{"district.example", "district.example", "0000-tenant"};
  auto google = enforcement_for("accounts.google.com", SafeSearch::off, &accounts);
  ASSERT_EQ(google.headers.size(), 1u);
  EXPECT_EQ(google.headers[0].name, "X-GoogApps-Allowed-Domains");
  auto microsoft = enforcement_for("login.microsoftonline.com", SafeSearch::off, &accounts);
  ASSERT_EQ(microsoft.headers.size(), 2u);
  EXPECT_EQ(microsoft.headers[1].value, "0000-tenant");
  EXPECT_TRUE(enforcement_for("notgoogle.com", SafeSearch::off, &accounts).headers.empty());
  EXPECT_TRUE(enforcement_for("accounts.google.com", SafeSearch::off, nullptr).headers.empty());
}

}  // namespace
}  // namespace hallpass::filters
