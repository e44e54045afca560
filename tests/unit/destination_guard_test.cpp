#include "proxy/act/destination_guard.hpp"

#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>

namespace hallpass::act {
namespace {

using boost::asio::ip::make_address;

std::optional<std::string_view> refused(const char* address) {
  return refused_destination(make_address(address), false);
}

TEST(DestinationGuard, RefusesTheGatewaysLoopbackAndLinkLocalRanges) {
  EXPECT_EQ(refused("127.0.0.1"), "loopback_destination");
  EXPECT_EQ(refused("127.9.9.9"), "loopback_destination");
  EXPECT_EQ(refused("::1"), "loopback_destination");
  EXPECT_EQ(refused("::ffff:127.0.0.1"), "loopback_destination");
  EXPECT_EQ(refused("0.0.0.0"), "loopback_destination");
  EXPECT_EQ(refused("169.254.169.254"), "local_destination");  // cloud metadata
  EXPECT_EQ(refused("::ffff:169.254.169.254"), "local_destination");
  EXPECT_EQ(refused("fe80::1"), "local_destination");
}

TEST(DestinationGuard, LetsOtherAddressesThrough) {
  EXPECT_EQ(refused("192.0.2.1"), std::nullopt);
  EXPECT_EQ(refused("2001:db8::1"), std::nullopt);
  EXPECT_EQ(refused("169.253.255.255"), std::nullopt);
  EXPECT_EQ(refused("169.255.0.1"), std::nullopt);
}

TEST(DestinationGuard, AllowLoopbackLetsEverythingThrough) {
  EXPECT_EQ(refused_destination(make_address("127.0.0.1"), true), std::nullopt);
  EXPECT_EQ(refused_destination(make_address("169.254.169.254"), true), std::nullopt);
}

// Every address of this machine's interfaces is the machine itself, whatever its range.
TEST(DestinationGuard, RefusesEachOfTheMachinesOwnAddresses) {
  ifaddrs* list = nullptr;
  ASSERT_EQ(::getifaddrs(&list), 0);
  int checked = 0;
  for (auto* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) {
      continue;
    }
    boost::asio::ip::address_v4::bytes_type bytes;
    std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr,
                bytes.size());
    boost::asio::ip::address address = boost::asio::ip::address_v4(bytes);
    EXPECT_TRUE(refused_destination(address, false).has_value()) << address.to_string();
    ++checked;
  }
  ::freeifaddrs(list);
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace hallpass::act
