// Every host a rule is compared with goes through normalize_host, from request targets,
// CONNECT authorities, SNI and list files alike: if one spelling of a name normalizes to
// something that does not normalize to itself, a list entry and a request for the same
// name can miss each other. The input is one host or authority as a client writes it.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "filters/host.hpp"
#include "proxy/http/target.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/target_checks.hpp"

namespace {

using namespace hallpass;

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

void check_host(std::string_view text) {
  auto host = filters::normalize_host(text);
  std::string out = "stale";
  FUZZ_CHECK(filters::normalize_host(text, out) == host.has_value());
  if (!host) {
    return;
  }
  // host.hpp: spaces and control bytes are refused, wherever they sit.
  FUZZ_CHECK(std::none_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
  }));
  FUZZ_CHECK(out == *host);
  FUZZ_CHECK(fuzz::is_normalized(*host));
  if (host->find(':') != std::string::npos) {
    return;  // an IPv6 literal, in the address's own canonical text
  }
  // host.hpp: lower case, no trailing dot; letters, digits, '-', '_', '.' only.
  FUZZ_CHECK(!host->empty() && host->size() <= 253);
  FUZZ_CHECK(std::all_of(host->begin(), host->end(), is_host_char));
  FUZZ_CHECK(host->front() != '.' && host->back() != '.');
  FUZZ_CHECK(host->find("..") == std::string::npos);
}

void check_authority(std::string_view text) {
  auto split = filters::split_host_port(text);
  auto connect = http::parse_connect_target(text);
  if (!split) {
    FUZZ_CHECK(!connect.target);
    return;
  }
  FUZZ_CHECK(!split->host.empty());
  FUZZ_CHECK(text.starts_with(split->host));
  // Written back as host:port, it splits into the same parts.
  std::string joined(split->host);
  if (split->port != 0) {
    joined += ":" + std::to_string(split->port);
  }
  auto again = filters::split_host_port(joined);
  FUZZ_CHECK(again && again->host == split->host && again->port == split->port);
  if (connect.target) {
    fuzz::check_target(*connect.target, true);
    FUZZ_CHECK(connect.target->port == split->port);
    FUZZ_CHECK(filters::normalize_host(split->host) == connect.target->host);
  } else {
    FUZZ_CHECK(split->port == 0 || !filters::normalize_host(split->host));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_host(text);
  check_authority(text);
  return 0;
}
