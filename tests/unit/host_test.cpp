#include "filters/host.hpp"

#include <gtest/gtest.h>

namespace hallpass::filters {
namespace {

struct HostCase {
  const char* input;
  const char* expected;  // nullptr: refused
};

void PrintTo(const HostCase& c, std::ostream* os) {
  *os << c.input;
}

class NormalizeHost : public testing::TestWithParam<HostCase> {};

TEST_P(NormalizeHost, MapsToCanonicalFormOrRefuses) {
  auto [input, expected] = GetParam();
  auto got = normalize_host(input);
  if (expected == nullptr) {
    EXPECT_FALSE(got.has_value()) << input << " -> " << got.value_or("");
  } else {
    ASSERT_TRUE(got.has_value()) << input;
    EXPECT_EQ(*got, expected);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, NormalizeHost,
    testing::Values(HostCase{"example.com", "example.com"}, HostCase{"EXAMPLE.Com", "example.com"},
                    HostCase{"example.com.", "example.com"},
                    HostCase{"a-b_c.example", "a-b_c.example"}, HostCase{"10.0.0.1", "10.0.0.1"},
                    HostCase{"[::1]", "::1"}, HostCase{"[2001:DB8::1]", "2001:db8::1"},
                    HostCase{"", nullptr}, HostCase{".", nullptr},
                    HostCase{".example.com", nullptr}, HostCase{"exa mple.com", nullptr},
                    HostCase{"a..b", nullptr}, HostCase{"evil.com\x01", nullptr},
                    HostCase{"ex%41mple.com", nullptr}, HostCase{"[1.2.3.4]", nullptr},
                    HostCase{"[::1", nullptr}, HostCase{"école.example", "xn--cole-9oa.example"},
                    HostCase{"ÉCOLE.Example.", "xn--cole-9oa.example"},
                    HostCase{"xn--cole-9oa.example", "xn--cole-9oa.example"},
                    HostCase{"faß.de", "xn--fa-hia.de"}, HostCase{"\xff\xfe.example", nullptr},
                    // Other IPv4 notations that browsers and getaddrinfo accept become the
                    // dotted quad, so IP rules and the IP-literal check see them.
                    HostCase{"3405803785", "203.0.113.9"}, HostCase{"0x7f.1", "127.0.0.1"},
                    HostCase{"0177.0.0.1", "127.0.0.1"}, HostCase{"10.1", "10.0.0.1"},
                    HostCase{"0xCB.0x00.0x71.0x09", "203.0.113.9"},
                    HostCase{"192.168.257", "192.168.1.1"}, HostCase{"127.0.0.1.", "127.0.0.1"},
                    HostCase{"1.2.3.256", nullptr}, HostCase{"1.2.3.4.5", nullptr},
                    HostCase{"4294967296", nullptr}, HostCase{"08.1.1.1", nullptr},
                    HostCase{"example.0x1g", "example.0x1g"}, HostCase{"1.example", "1.example"},
                    HostCase{"example.123", nullptr},
                    // Found by fuzz_host: one trailing dot is the same name; two are no name.
                    HostCase{"nordvpn.com..", nullptr}, HostCase{"[::1].", nullptr}));

// A NUL ends the name for the C libraries (libidn2, inet_pton): refused before them, or
// "blocked.test\0é" would be judged as "blocked.test" (found by fuzz_host).
TEST(NormalizeHost, RefusesANulAnywhere) {
  EXPECT_FALSE(normalize_host(std::string("blocked.test\0\xc3\xa9", 15)));
  EXPECT_FALSE(normalize_host(std::string("[::fd\0\0\0192.0.2.1]", 17)));
  EXPECT_FALSE(normalize_host(std::string("a\0.example", 10)));
}

TEST(SplitHostPort, SplitsNamesAndBracketedAddresses) {
  auto plain = split_host_port("example.com:443");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "example.com");
  EXPECT_EQ(plain->port, 443);
  auto v6 = split_host_port("[::1]:8443");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "[::1]");
  EXPECT_EQ(v6->port, 8443);
  auto bare = split_host_port("example.com");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->port, 0);
}

TEST(SplitHostPort, RefusesMalformedPorts) {
  for (const char* bad : {"example.com:", "example.com:0", "example.com:65536", "example.com:4x",
                          "::1:443", "[::1]x", ":443"}) {
    EXPECT_FALSE(split_host_port(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace hallpass::filters
