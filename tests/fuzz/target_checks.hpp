// What a parsed request target promises to the policy and to the upstream request: a
// host already in normal form, and an authority that names the same host and port again.
#pragma once

#include <string>

#include "filters/host.hpp"
#include "proxy/http/target.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace hallpass::fuzz {

// A normalized host normalizes to itself (an IPv6 literal once bracketed again).
inline bool is_normalized(const std::string& host) {
  bool v6 = host.find(':') != std::string::npos;
  return filters::normalize_host(v6 ? "[" + host + "]" : host) == host;
}

inline void check_target(const http::Target& target, bool connect) {
  FUZZ_CHECK(!target.host.empty());
  FUZZ_CHECK(is_normalized(target.host));
  FUZZ_CHECK(target.port != 0);
  FUZZ_CHECK(!target.authority.empty());
  FUZZ_CHECK(connect ? target.path.empty() : target.path.starts_with('/'));
  // The Host header the upstream gets names the same host and port again.
  auto split = filters::split_host_port(target.authority);
  FUZZ_CHECK(split.has_value());
  FUZZ_CHECK(filters::normalize_host(split->host) == target.host);
  FUZZ_CHECK(split->port == target.port || (split->port == 0 && !connect && target.port == 80));
}

}  // namespace hallpass::fuzz
