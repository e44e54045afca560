// Header rewriting for forwarding (RFC 9110 §7.6.1): hop-by-hop fields never cross the
// proxy, the upstream request uses origin-form with the URL's authority as Host, and both
// directions gain a Via entry.
#pragma once

#include "filters/enforcement.hpp"
#include "proxy/http/beast.hpp"
#include "proxy/http/target.hpp"

namespace hallpass::act {

inline constexpr std::string_view kVia = "1.1 hallpass";

// Removes Connection, Keep-Alive, Proxy-Connection, Proxy-Authorization, TE, Trailer,
// Upgrade, and every field the Connection header names. Transfer-Encoding stays: the
// serializer re-frames the body with it.
void strip_hop_by_hop(bhttp::fields& fields);

void prepare_upstream_request(bhttp::request<bhttp::buffer_body>& request,
                              const http::Target& target);

// `client_version` 10 or 11; a chunked response to an HTTP/1.0 client is sent unframed and
// closed instead, since 1.0 has no chunked coding.
void prepare_client_response(bhttp::response<bhttp::buffer_body>& response, unsigned client_version,
                             bool keep_alive);

bool expects_continue(const bhttp::fields& fields);

// Removes client-sent copies of the enforcement headers, then sets the policy's.
void apply_enforcement(bhttp::fields& fields, const filters::Enforcement& enforcement);

}  // namespace hallpass::act
