// The PROXY protocol (HAProxy's, v1 text and v2 binary) that a load balancer in TCP mode
// puts before the client's bytes to say whose connection it is. Sans-IO: the caller reads,
// this only looks at bytes. Believed only from `proxy_protocol.trusted` balancers; from
// anyone else a header is an attempt to choose one's own building, and is refused.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "filters/ip_address.hpp"

namespace hallpass::accept {

// The longest header read before giving up: v1 is at most 107 bytes; v2 carries optional
// TLVs after the addresses, which HAProxy keeps short (well under this).
inline constexpr std::size_t kMaxProxyHeaderBytes = 536;

struct ProxyHeader {
  enum class Status {
    need_more,  // a prefix of a header: read more
    ok,
    absent,   // the bytes do not start like a PROXY header
    invalid,  // they do, but it is malformed
  };
  Status status = Status::need_more;
  std::size_t length = 0;  // bytes of header to consume (status ok)
  // The client the balancer speaks for. Empty for a v2 LOCAL command (the balancer's own
  // health check) and for v1 UNKNOWN: the connection is then the balancer's own.
  std::optional<filters::IpAddress> source;
  std::string_view error;  // why it is invalid, for the log
};

ProxyHeader parse_proxy_header(std::string_view bytes);

bool is_trusted_balancer(std::span<const filters::IpNetwork> trusted,
                         const filters::IpAddress& peer);

// Whether `bytes` could be the start of a PROXY header (v1 or v2), given this many bytes.
bool looks_like_proxy_header(std::string_view bytes);

}  // namespace hallpass::accept
