#include "proxy/accept/proxy_protocol.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string>

namespace hallpass::accept {

namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t kV1MaxBytes = 107;
constexpr std::size_t kV2FixedBytes = 16;

bool is_prefix_of(std::string_view bytes, std::string_view magic) {
  auto n = std::min(bytes.size(), magic.size());
  return bytes.substr(0, n) == magic.substr(0, n);
}

ProxyHeader invalid(std::string_view why) {
  ProxyHeader header;
  header.status = ProxyHeader::Status::invalid;
  header.error = why;
  return header;
}

// Splits "a b c" into exactly `fields.size()` single-space-separated fields.
template <std::size_t N>
bool split_fields(std::string_view line, std::array<std::string_view, N>& fields) {
  for (std::size_t i = 0; i < N; ++i) {
    auto space = line.find(' ');
    if (i + 1 < N) {
      if (space == std::string_view::npos || space == 0) {
        return false;
      }
      fields[i] = line.substr(0, space);
      line.remove_prefix(space + 1);
    } else {
      if (space != std::string_view::npos || line.empty()) {
        return false;
      }
      fields[i] = line;
    }
  }
  return true;
}

bool is_port(std::string_view text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  // The spec forbids leading zeros; a strict reading keeps odd encodings out.
  return ec == std::errc{} && end == text.data() + text.size() && port <= 65535 &&
         (text.size() == 1 || text.front() != '0');
}

ProxyHeader parse_v1(std::string_view bytes) {
  auto end = bytes.substr(0, kV1MaxBytes).find("\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() >= kV1MaxBytes) {
      return invalid("v1 header longer than 107 bytes");
    }
    ProxyHeader more;
    return more;
  }
  auto line = bytes.substr(kV1Prefix.size(), end - kV1Prefix.size());
  ProxyHeader header;
  header.status = ProxyHeader::Status::ok;
  header.length = end + 2;
  if (line.starts_with("UNKNOWN")) {  // the balancer could not tell: its own connection
    return header;
  }
  std::array<std::string_view, 5> fields;
  if (!split_fields(line, fields)) {
    return invalid("v1 header is not PROTO SRC DST SPORT DPORT");
  }
  bool v4 = fields[0] == "TCP4";
  if (!v4 && fields[0] != "TCP6") {
    return invalid("v1 protocol is not TCP4, TCP6 or UNKNOWN");
  }
  auto source = filters::IpAddress::parse(fields[1]);
  auto destination = filters::IpAddress::parse(fields[2]);
  if (!source || !destination || source->is_v4() != v4 || destination->is_v4() != v4 ||
      !is_port(fields[3]) || !is_port(fields[4])) {
    return invalid("v1 addresses or ports are malformed");
  }
  header.source = source;
  return header;
}

ProxyHeader parse_v2(std::string_view bytes) {
  if (bytes.size() < kV2FixedBytes) {
    return {};
  }
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  auto version_command = byte(12);
  auto family = byte(13);
  std::size_t length = (std::size_t{byte(14)} << 8) | byte(15);
  if ((version_command >> 4) != 2) {
    return invalid("v2 version is not 2");
  }
  auto command = version_command & 0x0F;
  if (command > 1) {
    return invalid("v2 command is neither LOCAL nor PROXY");
  }
  if (kV2FixedBytes + length > kMaxProxyHeaderBytes) {
    return invalid("v2 header longer than Hallpass accepts");
  }
  if (bytes.size() < kV2FixedBytes + length) {
    return {};
  }
  ProxyHeader header;
  header.status = ProxyHeader::Status::ok;
  header.length = kV2FixedBytes + length;
  if (command == 0) {  // LOCAL: the balancer's own connection (health checks)
    return header;
  }
  auto body = bytes.substr(kV2FixedBytes, length);
  switch (family) {
    case 0x11:  // TCP over IPv4: src, dst (4 bytes each), ports
      if (body.size() < 12) {
        return invalid("v2 IPv4 address block too short");
      }
      header.source = filters::IpAddress::from_v4((std::uint32_t{byte(16)} << 24) |
                                                  (std::uint32_t{byte(17)} << 16) |
                                                  (std::uint32_t{byte(18)} << 8) | byte(19));
      return header;
    case 0x21: {  // TCP over IPv6
      if (body.size() < 36) {
        return invalid("v2 IPv6 address block too short");
      }
      std::array<std::uint8_t, 16> address{};
      std::copy_n(body.begin(), 16, address.begin());
      header.source = filters::IpAddress::from_v6(address);
      return header;
    }
    case 0x00:  // UNSPEC: the balancer does not know; its own connection
      return header;
    default:
      return invalid("v2 family is not TCP over IPv4 or IPv6");
  }
}

}  // namespace

bool is_trusted_balancer(std::span<const filters::IpNetwork> trusted,
                         const filters::IpAddress& peer) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const auto& network) { return network.contains(peer); });
}

bool looks_like_proxy_header(std::string_view bytes) {
  return !bytes.empty() && (is_prefix_of(bytes, kV1Prefix) || is_prefix_of(bytes, kV2Signature));
}

ProxyHeader parse_proxy_header(std::string_view bytes) {
  if (is_prefix_of(bytes, kV1Prefix)) {
    return bytes.size() < kV1Prefix.size() ? ProxyHeader{} : parse_v1(bytes);
  }
  if (is_prefix_of(bytes, kV2Signature)) {
    return bytes.size() < kV2Signature.size() ? ProxyHeader{} : parse_v2(bytes);
  }
  ProxyHeader absent;
  absent.status = ProxyHeader::Status::absent;
  return absent;
}

}  // namespace hallpass::accept
