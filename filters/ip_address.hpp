// IPv4/IPv6 addresses and CIDR networks, with no socket library: the policy matches client
// addresses, and `hallpass check` must parse them without a network stack.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hallpass::filters {

// IPv4 is stored as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) so one comparison covers
// both families and a v4-mapped peer matches v4 networks.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};

  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress from_v4(std::uint32_t host_order);
  static IpAddress from_v6(const std::array<std::uint8_t, 16>& bytes);
  bool is_v4() const;
  std::string to_string() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct IpNetwork {
  IpAddress base;
  unsigned prefix = 0;  // in bits of the 128-bit form (v4 /n is stored as /(96+n))

  // "10.0.0.0/8", "::1/128", or a bare address (a host network). Host bits must be zero.
  static std::optional<IpNetwork> parse(std::string_view text, std::string* error = nullptr);
  bool contains(const IpAddress& address) const;
};

}  // namespace hallpass::filters
