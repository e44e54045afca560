// The request target a forward proxy accepts: absolute-form `http://host[:port]/path` for
// ordinary methods, authority-form `host:port` for CONNECT (RFC 9112 §3.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/http/prescan.hpp"

namespace hallpass::http {

struct Target {
  std::string host;  // normalized (filters/host.hpp); IPv6 without brackets
  std::uint16_t port = 80;
  std::string path;       // origin-form for the upstream: "/a/b?q"; empty for CONNECT
  std::string authority;  // Host header value: "host" or "host:port", IPv6 bracketed
};

inline constexpr Refusal kNotAbsolute{400, "not_absolute_form",
                                      "A proxy request must name the full http:// URL."};
inline constexpr Refusal kBadScheme{400, "unsupported_scheme",
                                    "Only http:// URLs can be sent to the proxy directly; "
                                    "https:// goes through CONNECT."};
inline constexpr Refusal kBadHost{400, "bad_host", "The host name in the request is malformed."};

struct TargetOutcome {
  std::optional<Target> target;
  Refusal refusal = kBadHost;
};

TargetOutcome parse_absolute_target(std::string_view target);
TargetOutcome parse_connect_target(std::string_view target);

}  // namespace hallpass::http
