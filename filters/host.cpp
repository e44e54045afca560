#include "filters/host.hpp"

#include <idn2.h>

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "filters/ip_address.hpp"

namespace hallpass::filters {

namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// UTS 46 (non-transitional, as browsers do): "ÉCOLE.example" and "école.example" both
// become "xn--cole-9oa.example", the form a browser sends and a UT1 list may not.
bool to_ascii(std::string_view host, std::string& out) {
  std::string input(host);
  char* ascii = nullptr;
  if (idn2_to_ascii_8z(input.c_str(), &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK) {
    return false;
  }
  out = ascii;
  idn2_free(ascii);
  return true;
}

bool has_non_ascii(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// One part of a WHATWG IPv4 host: decimal, octal with a leading 0, or hex with 0x.
std::optional<std::uint64_t> ipv4_number(std::string_view part) {
  int base = 10;
  if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
    base = 16;
    part.remove_prefix(2);
    if (part.empty()) {
      return 0;  // "0x" is zero, as browsers read it
    }
  } else if (part.size() >= 2 && part[0] == '0') {
    base = 8;
    part.remove_prefix(1);
  }
  if (part.empty() || part.size() > 16) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value, base);
  if (ec != std::errc{} || end != part.data() + part.size()) {
    return std::nullopt;
  }
  return value;
}

// The WHATWG URL host parser's test: a host whose last label is a number ("10.1", "0x7f.1",
// "3405803785") is an IPv4 address, whatever its notation.
bool ends_in_number(std::string_view host) {
  auto last = host.substr(host.rfind('.') + 1);
  if (last.empty()) {
    return false;
  }
  if (std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return true;
  }
  return last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') &&
         std::all_of(last.begin() + 2, last.end(), [](char c) {
           return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
         });
}

// Browsers and glibc's resolver both take "0x7f.1", "017700000001" or "2130706433" for
// 127.0.0.1. Rules, lists and the IP-literal check compare the dotted-quad form, so every
// other notation is rewritten to it here or the name would slip past them.
std::optional<std::string> whatwg_ipv4(std::string_view host) {
  std::uint64_t parts[4] = {};
  std::size_t count = 0;
  while (true) {
    auto dot = host.find('.');
    if (count == 4) {
      return std::nullopt;
    }
    auto number = ipv4_number(host.substr(0, dot));
    if (!number) {
      return std::nullopt;
    }
    parts[count++] = *number;
    if (dot == std::string_view::npos) {
      break;
    }
    host.remove_prefix(dot + 1);
  }
  for (std::size_t i = 0; i + 1 < count; ++i) {
    if (parts[i] > 255) {
      return std::nullopt;
    }
  }
  if (parts[count - 1] >= (std::uint64_t{1} << (8 * (5 - count)))) {
    return std::nullopt;
  }
  std::uint64_t address = parts[count - 1];
  for (std::size_t i = 0; i + 1 < count; ++i) {
    address += parts[i] << (8 * (3 - i));
  }
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 255) + "." +
         std::to_string((address >> 8) & 255) + "." + std::to_string(address & 255);
}

}  // namespace

std::optional<std::string> normalize_host(std::string_view host) {
  std::string out;
  if (!normalize_host(host, out)) {
    return std::nullopt;
  }
  return out;
}

bool normalize_host(std::string_view host, std::string& out) {
  thread_local std::string ascii;
  if (host.find('\0') != std::string_view::npos) {
    out.clear();
    return false;  // the C libraries below would stop at it and accept the part before
  }
  if (has_non_ascii(host)) {
    if (!to_ascii(host, ascii)) {
      out.clear();
      return false;
    }
    host = ascii;
  }
  out.clear();
  if (!host.empty() && host.front() == '[') {
    auto address = IpAddress::parse(host);
    if (!address || address->is_v4()) {
      return false;
    }
    out = address->to_string();
    return true;
  }
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);  // "example.com." is the same name, fully qualified
  }
  if (host.empty() || host.size() > 253 || host.front() == '.') {
    return false;
  }
  for (char c : host) {
    c = lower(c);
    if (!is_host_char(c) || (c == '.' && !out.empty() && out.back() == '.')) {
      return false;
    }
    out.push_back(c);
  }
  if (out.back() == '.') {
    out.clear();
    return false;  // "blocked.test.." would slip past every list as "blocked.test."
  }
  if (ends_in_number(out)) {
    auto address = whatwg_ipv4(out);
    if (!address) {
      out.clear();
      return false;  // "1.2.3.256", "1.2.3.4.5": browsers refuse these too
    }
    out = *address;
  }
  return true;
}

std::optional<HostPort> split_host_port(std::string_view authority) {
  HostPort result;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    result.host = authority.substr(0, close + 1);
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port_text = rest.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    result.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (result.host.find(':') != std::string_view::npos) {
        return std::nullopt;  // a bare IPv6 literal must be bracketed
      }
    }
  }
  if (!port_text.empty() || (authority.size() > result.host.size())) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return std::nullopt;
    }
    result.port = static_cast<std::uint16_t>(port);
  }
  if (result.host.empty()) {
    return std::nullopt;
  }
  return result;
}

}  // namespace hallpass::filters
