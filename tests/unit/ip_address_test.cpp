#include "filters/ip_address.hpp"

#include <gtest/gtest.h>

namespace hallpass::filters {
namespace {

IpAddress ip(const char* text) {
  auto parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(IpAddress{});
}

TEST(IpAddress, ParsesBothFamiliesAndPrintsThemBack) {
  EXPECT_TRUE(ip("10.1.2.3").is_v4());
  EXPECT_EQ(ip("10.1.2.3").to_string(), "10.1.2.3");
  EXPECT_FALSE(ip("2001:db8::1").is_v4());
  EXPECT_EQ(ip("2001:db8::1").to_string(), "2001:db8::1");
  EXPECT_EQ(ip("::ffff:10.1.2.3"), ip("10.1.2.3"));  // a v4-mapped peer is the v4 client
  EXPECT_FALSE(IpAddress::parse("10.1.2").has_value());
  EXPECT_FALSE(IpAddress::parse("example.com").has_value());
}

struct NetworkCase {
  const char* network;
  const char* address;
  bool inside;
};

void PrintTo(const NetworkCase& c, std::ostream* os) {
  *os << c.network << " " << c.address;
}

class NetworkContains : public testing::TestWithParam<NetworkCase> {};

TEST_P(NetworkContains, MatchesPrefixBits) {
  auto [network, address, inside] = GetParam();
  auto parsed = IpNetwork::parse(network);
  ASSERT_TRUE(parsed) << network;
  EXPECT_EQ(parsed->contains(ip(address)), inside) << network << " " << address;
}

INSTANTIATE_TEST_SUITE_P(Table, NetworkContains,
                         testing::Values(NetworkCase{"10.10.0.0/16", "10.10.200.1", true},
                                         NetworkCase{"10.10.0.0/16", "10.11.0.1", false},
                                         NetworkCase{"10.10.16.0/20", "10.10.31.255", true},
                                         NetworkCase{"10.10.16.0/20", "10.10.32.0", false},
                                         NetworkCase{"10.10.0.0/20", "10.10.15.1", true},
                                         NetworkCase{"0.0.0.0/0", "192.0.2.1", true},
                                         NetworkCase{"0.0.0.0/0", "2001:db8::1", false},
                                         NetworkCase{"127.0.0.1", "127.0.0.1", true},
                                         NetworkCase{"127.0.0.1", "127.0.0.2", false},
                                         NetworkCase{"::1/128", "::1", true},
                                         NetworkCase{"fd00::/8", "fd12::5", true},
                                         NetworkCase{"fd00::/8", "fe80::1", false},
                                         NetworkCase{"2001:db8::/32", "::ffff:10.0.0.1", false}));

TEST(IpNetwork, RefusesBadPrefixesWithAReason) {
  std::string why;
  EXPECT_FALSE(IpNetwork::parse("10.0.0.0/99", &why));
  EXPECT_EQ(why, "prefix length must be 0-32");
  EXPECT_FALSE(IpNetwork::parse("10.0.0.1/8", &why));
  EXPECT_EQ(why, "host bits are set after the prefix");
  EXPECT_FALSE(IpNetwork::parse("10.0.0.0/", &why));
  EXPECT_FALSE(IpNetwork::parse("::/129", &why));
  EXPECT_FALSE(IpNetwork::parse("nonsense/8", &why));
}

}  // namespace
}  // namespace hallpass::filters
