#include "filters/ip_address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace hallpass::filters {

namespace {
constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  std::string buffer(text);
  in_addr v4{};
  if (inet_pton(AF_INET, buffer.c_str(), &v4) == 1) {
    return from_v4(ntohl(v4.s_addr));
  }
  std::array<std::uint8_t, 16> v6{};
  if (inet_pton(AF_INET6, buffer.c_str(), v6.data()) == 1) {
    return from_v6(v6);
  }
  return std::nullopt;
}

IpAddress IpAddress::from_v4(std::uint32_t host_order) {
  IpAddress address;
  std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), address.bytes.begin());
  address.bytes[12] = static_cast<std::uint8_t>(host_order >> 24);
  address.bytes[13] = static_cast<std::uint8_t>(host_order >> 16);
  address.bytes[14] = static_cast<std::uint8_t>(host_order >> 8);
  address.bytes[15] = static_cast<std::uint8_t>(host_order);
  return address;
}

IpAddress IpAddress::from_v6(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress address;
  address.bytes = bytes;
  return address;
}

bool IpAddress::is_v4() const {
  return std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes.begin());
}

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  }
  return text;
}

std::optional<IpNetwork> IpNetwork::parse(std::string_view text, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<IpNetwork> {
    if (error != nullptr) {
      *error = why;
    }
    return std::nullopt;
  };
  auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) {
    return fail("not an IPv4 or IPv6 address");
  }
  unsigned max_bits = address->is_v4() ? 32 : 128;
  unsigned bits = max_bits;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() ||
        bits > max_bits) {
      return fail(address->is_v4() ? "prefix length must be 0-32" : "prefix length must be 0-128");
    }
  }
  IpNetwork network{*address, bits + (128 - max_bits)};
  for (unsigned bit = network.prefix; bit < 128; ++bit) {
    if ((network.base.bytes[bit / 8] >> (7 - bit % 8)) & 1U) {
      return fail("host bits are set after the prefix");
    }
  }
  return network;
}

bool IpNetwork::contains(const IpAddress& address) const {
  unsigned full = prefix / 8;
  if (!std::equal(base.bytes.begin(), base.bytes.begin() + full, address.bytes.begin())) {
    return false;
  }
  unsigned rest = prefix % 8;
  if (rest == 0) {
    return true;
  }
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (base.bytes[full] & mask) == (address.bytes[full] & mask);
}

}  // namespace hallpass::filters
