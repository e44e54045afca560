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
