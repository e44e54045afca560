#include "proxy/http/target.hpp"

#include <gtest/gtest.h>

namespace hallpass::http {
namespace {

struct AbsoluteCase {
  const char* input;
  const char* host;
  unsigned port;
  const char* path;
  const char* authority;
};

void PrintTo(const AbsoluteCase& c, std::ostream* os) {
  *os << c.input;
}

class AbsoluteTarget : public testing::TestWithParam<AbsoluteCase> {};

TEST_P(AbsoluteTarget, SplitsIntoHostPortAndOriginForm) {
  const auto& c = GetParam();
  auto parsed = parse_absolute_target(c.input);
  ASSERT_TRUE(parsed.target) << c.input;
  EXPECT_EQ(parsed.target->host, c.host);
  EXPECT_EQ(parsed.target->port, c.port);
  EXPECT_EQ(parsed.target->path, c.path);
  EXPECT_EQ(parsed.target->authority, c.authority);
}

INSTANTIATE_TEST_SUITE_P(
    Table, AbsoluteTarget,
    testing::Values(
        AbsoluteCase{"http://Example.COM/a/b?q=1", "example.com", 80, "/a/b?q=1", "example.com"},
        AbsoluteCase{"http://example.com", "example.com", 80, "/", "example.com"},
        AbsoluteCase{"http://example.com.:8080/x", "example.com", 8080, "/x", "example.com:8080"},
        AbsoluteCase{"http://example.com:80/", "example.com", 80, "/", "example.com"},
        AbsoluteCase{"http://[::1]:8080/", "::1", 8080, "/", "[::1]:8080"},
        AbsoluteCase{"HTTP://example.com/", "example.com", 80, "/", "example.com"},
        AbsoluteCase{"http://user:pw@example.com/", "example.com", 80, "/", "example.com"}));

TEST(AbsoluteTarget, RefusesWhatAForwardProxyCannotServe) {
  EXPECT_EQ(parse_absolute_target("/index.html").refusal.reason_code, "not_absolute_form");
  EXPECT_EQ(parse_absolute_target("https://example.com/").refusal.reason_code,
            "unsupported_scheme");
  EXPECT_EQ(parse_absolute_target("ftp://example.com/").refusal.reason_code, "unsupported_scheme");
  EXPECT_FALSE(parse_absolute_target("http://exa%20mple.com/").target);
  EXPECT_FALSE(parse_absolute_target("http:///path").target);
  EXPECT_FALSE(parse_absolute_target("http://example.com:0/").target);
  // Found by fuzz_url_target: Boost.URL 1.81 reads these as port 80 with path "x/", and as
  // port 34463 (the number wraps).
  EXPECT_FALSE(parse_absolute_target("http://example.com:80x/").target);
  EXPECT_FALSE(parse_absolute_target("http://example.com:99999/").target);
  EXPECT_FALSE(parse_absolute_target("http://example.com:000080/").target);
  ASSERT_TRUE(parse_absolute_target("http://example.com:65535/").target);
  EXPECT_EQ(parse_absolute_target("http://example.com:65535/").target->port, 65535);
  // A trailing double dot would slip past every list as "example.com."
  EXPECT_FALSE(parse_absolute_target("http://nordvpn.com../").target);
}

TEST(ConnectTarget, NeedsHostAndPort) {
  auto ok = parse_connect_target("Example.com:443");
  ASSERT_TRUE(ok.target);
  EXPECT_EQ(ok.target->host, "example.com");
  EXPECT_EQ(ok.target->port, 443);
  auto v6 = parse_connect_target("[2001:db8::1]:443");
  ASSERT_TRUE(v6.target);
  EXPECT_EQ(v6.target->host, "2001:db8::1");
  for (const char* bad : {"example.com", "example.com:", ":443", "exa mple.com:443", "a:b:443"}) {
    EXPECT_FALSE(parse_connect_target(bad).target) << bad;
  }
}

}  // namespace
}  // namespace hallpass::http
