#include "proxy/act/destination_guard.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

namespace hallpass::act {

namespace {

using Address = boost::asio::ip::address;
using Clock = std::chrono::steady_clock;

Address unmapped(const Address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

// The gateway's own interface addresses, read again at most every 30 s so an address that
// DHCP or an operator adds is covered without a restart; readers never wait.
struct OwnAddresses {
  std::vector<Address> addresses;
  Clock::time_point read_at;
};

std::shared_ptr<const OwnAddresses> read_own_addresses() {
  auto snapshot = std::make_shared<OwnAddresses>();
  snapshot->read_at = Clock::now();
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    return snapshot;
  }
  for (auto* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) {
      continue;
    }
    if (entry->ifa_addr->sa_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
      boost::asio::ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), &v4->sin_addr, bytes.size());
      snapshot->addresses.emplace_back(boost::asio::ip::address_v4(bytes));
    } else if (entry->ifa_addr->sa_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr);
      boost::asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &v6->sin6_addr, bytes.size());
      snapshot->addresses.emplace_back(boost::asio::ip::address_v6(bytes));
    }
  }
  ::freeifaddrs(list);
  return snapshot;
}

bool is_own(const Address& address) {
  static std::atomic<std::shared_ptr<const OwnAddresses>> current{read_own_addresses()};
  auto snapshot = current.load();
  if (Clock::now() - snapshot->read_at > std::chrono::seconds(30)) {
    snapshot = read_own_addresses();
    current.store(snapshot);
  }
  return std::find(snapshot->addresses.begin(), snapshot->addresses.end(), address) !=
         snapshot->addresses.end();
}

bool is_link_local(const Address& address) {
  if (address.is_v4()) {
    return (address.to_v4().to_uint() >> 16) == 0xA9FE;  // 169.254.0.0/16
  }
  return address.to_v6().is_link_local();  // fe80::/10
}

}  // namespace

std::optional<std::string_view> refused_destination(const Address& destination, bool allow_local) {
  if (allow_local) {
    return std::nullopt;
  }
  auto address = unmapped(destination);
  if (address.is_loopback() || address.is_unspecified()) {
    return "loopback_destination";
  }
  if (is_link_local(address) || is_own(address)) {
    return "local_destination";
  }
  return std::nullopt;
}

}  // namespace hallpass::act
