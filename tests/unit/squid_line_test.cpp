// Squid's native access.log format: the fields Squid's reporting tools split on, and the
// mapping from Hallpass outcomes to Squid result codes (docs/audit.md).
#include "proxy/record/squid_line.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace hallpass::record {
namespace {

using std::chrono::milliseconds;

// 2024-11-29T17:06:40.000Z plus `ms`.
std::chrono::system_clock::time_point at(long long ms) {
  return std::chrono::system_clock::time_point(milliseconds(1732900000000LL + ms));
}

Outcome forwarded() {
  Outcome o;
  o.request_id = "0000abcd-00-00000001";
  o.time = at(78);
  o.client = "10.10.16.5";
  o.method = "GET";
  o.host = "example.com";
  o.port = 80;
  o.path = "/path";
  o.status = 200;
  o.bytes_to_client = 1234;
  o.duration_seconds = 0.0459;
  o.decision.action = filters::Action::allow;
  o.decision.reason_code = "policy_default";
  return o;
}

// Splits like SARG: on single spaces, the run before the elapsed time skipped.
std::vector<std::string> fields(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string field; in >> field;) {
    out.push_back(field);
  }
  return out;
}

TEST(SquidLine, ForwardedRequestMatchesSquidsNativeFormat) {
  EXPECT_EQ(squid_line(forwarded()),
            "1732900000.123     45 10.10.16.5 TCP_MISS/200 1234 GET http://example.com/path - "
            "HIER_DIRECT/example.com -");
}

TEST(SquidLine, BlockedRequestIsDeniedWithoutAPeer) {
  auto o = forwarded();
  o.decision.action = filters::Action::block;
  o.decision.reason_code = "category_block";
  o.status = 403;
  o.duration_seconds = 0.0015;
  o.time = at(122);
  EXPECT_EQ(squid_line(o),
            "1732900000.123      1 10.10.16.5 TCP_DENIED/403 1234 GET http://example.com/path - "
            "HIER_NONE/- -");
}

TEST(SquidLine, ResultCodes) {
  struct Case {
    const char* name;
    const char* method;
    filters::Action action;
    unsigned status;
    const char* upstream_error;
    const char* tls;
    const char* code;
    const char* hierarchy;
  } cases[] = {
      {"allowed", "GET", filters::Action::allow, 200, "", "", "TCP_MISS/200", "HIER_DIRECT/h.test"},
      {"not found", "GET", filters::Action::allow, 404, "", "", "TCP_MISS/404",
       "HIER_DIRECT/h.test"},
      {"policy block", "GET", filters::Action::block, 403, "", "", "TCP_DENIED/403", "HIER_NONE/-"},
      {"auth", "GET", filters::Action::block, 407, "", "", "TCP_DENIED/407", "HIER_NONE/-"},
      {"malformed", "GET", filters::Action::block, 400, "", "", "NONE/400", "HIER_NONE/-"},
      {"head too large", "-", filters::Action::block, 431, "", "", "NONE/431", "HIER_NONE/-"},
      {"upstream dns", "GET", filters::Action::allow, 502, "upstream_dns", "", "TCP_MISS/502",
       "HIER_NONE/-"},
      {"upstream timeout", "GET", filters::Action::allow, 504, "upstream_timeout", "",
       "TCP_MISS/504", "HIER_NONE/-"},
      {"tunnel", "CONNECT", filters::Action::allow, 200, "", "splice", "TCP_TUNNEL/200",
       "HIER_DIRECT/h.test"},
      {"intercepted tunnel", "CONNECT", filters::Action::allow, 200, "", "intercept",
       "TCP_TUNNEL/200", "HIER_DIRECT/h.test"},
      {"tunnel refused upstream", "CONNECT", filters::Action::allow, 502, "upstream_refused", "",
       "NONE/502", "HIER_NONE/-"},
      {"blocked tunnel", "CONNECT", filters::Action::block, 403, "", "block_page", "TCP_DENIED/403",
       "HIER_NONE/-"},
      {"client left", "GET", filters::Action::allow, 0, "", "", "TCP_MISS/000",
       "HIER_DIRECT/h.test"},
  };
  for (const auto& c : cases) {
    auto o = forwarded();
    o.method = c.method;
    o.host = "h.test";
    o.port = std::string_view(c.method) == "CONNECT" ? 443 : 80;
    o.decision.action = c.action;
    o.status = c.status;
    o.upstream_error = c.upstream_error;
    o.tls = c.tls;
    auto f = fields(squid_line(o));
    ASSERT_EQ(f.size(), 10u) << c.name << ": " << squid_line(o);
    EXPECT_EQ(f[3], c.code) << c.name;
    EXPECT_EQ(f[8], c.hierarchy) << c.name;
  }
}

TEST(SquidLine, UrlsAreSquids) {
  struct Case {
    const char* method;
    const char* host;
    std::uint16_t port;
    const char* path;
    const char* tls;
    const char* url;
  } cases[] = {
      {"CONNECT", "secure.test", 443, "", "splice", "secure.test:443"},
      {"CONNECT", "2001:db8::1", 8443, "", "", "[2001:db8::1]:8443"},
      {"GET", "secure.test", 443, "/inner", "intercept", "https://secure.test/inner"},
      {"GET", "secure.test", 8443, "/inner", "intercept", "https://secure.test:8443/inner"},
      {"GET", "plain.test", 8080, "/x", "", "http://plain.test:8080/x"},
      {"GET", "plain.test", 80, "", "", "http://plain.test/"},
      {"GET", "2001:db8::2", 80, "/", "", "http://[2001:db8::2]/"},
      {"GET", "plain.test", 80, "/caf\xc3\xa9 x", "", "http://plain.test/caf%C3%A9%20x"},
      {"GET", "plain.test", 80, "/already%20encoded", "", "http://plain.test/already%20encoded"},
      {"-", "", 0, "", "", "error:invalid-request"},
  };
  for (const auto& c : cases) {
    auto o = forwarded();
    o.method = c.method;
    o.host = c.host;
    o.port = c.port;
    o.path = c.path;
    o.tls = c.tls;
    auto f = fields(squid_line(o));
    ASSERT_EQ(f.size(), 10u) << squid_line(o);
    EXPECT_EQ(f[6], c.url) << c.host << c.path;
  }
}

TEST(SquidLine, UserIsEncodedAndDashWhenAbsent) {
  auto o = forwarded();
  EXPECT_EQ(fields(squid_line(o))[7], "-");
  o.user = "Jo Smith";
  EXPECT_EQ(fields(squid_line(o))[7], "Jo%20Smith");
}

TEST(SquidLine, SafeSearchTunnelNamesTheHostItReached) {
  auto o = forwarded();
  o.method = "CONNECT";
  o.host = "www.google.com";
  o.port = 443;
  o.enforced_via = "forcesafesearch.google.com";
  EXPECT_EQ(fields(squid_line(o))[8], "HIER_DIRECT/forcesafesearch.google.com");
}

TEST(SquidLine, TimeIsTheEndAndElapsedIsRightAlignedInSixColumns) {
  auto o = forwarded();
  o.time = at(0);
  o.duration_seconds = 1234.5678;
  auto line = squid_line(o);
  EXPECT_EQ(line.substr(0, 22), "1732901234.567 1234567") << line;
  o.duration_seconds = 0;
  line = squid_line(o);
  EXPECT_EQ(line.substr(0, 22), "1732900000.000      0 ") << line;
}

TEST(SquidLine, WebSocketMessageLinesHaveNoSquidLine) {
  auto o = forwarded();
  o.method = "WEBSOCKET";
  o.websocket_message = 3;
  EXPECT_EQ(squid_line(o), "");
}

TEST(SquidLine, NoFieldEverHoldsASpaceOrControlByte) {
  auto o = forwarded();
  o.client = "10.0.0.1 x";
  o.method = "G\tET";
  o.host = "a\nb";
  o.path = "/\r\n";
  o.user = "\x01";
  auto line = squid_line(o);
  EXPECT_EQ(fields(line).size(), 10u) << line;
  for (char c : line) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << line;
  }
}

}  // namespace
}  // namespace hallpass::record
