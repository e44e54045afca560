// Intercepted tunnels: TLS terminated with a leaf minted from the district CA, then either
// the same HTTP loop as plain traffic against a verified upstream, or the block page.
#pragma once

#include <string>

#include "proxy/session/connection.hpp"

namespace hallpass::session {

// Decrypts the tunnel to `server_name` (the ClientHello is in connection.buffer), records
// the CONNECT, then serves the requests inside it. `upstream` is the TCP connection made
// for the CONNECT; it is wrapped in verified TLS on the first request.
awaitable<void> intercept(Connection& connection, Exchange& tunnel, const http::Target& target,
                          std::string server_name, filters::TlsSettings settings,
                          beast::tcp_stream upstream);

// True when this client refused our certificate for `host` before, under a policy that
// splices after such a failure: the tunnel is spliced instead of decrypted.
inline bool spliced_after_failure(const SessionContext& context, const filters::Client& client,
                                  const filters::TlsPlan& plan, std::string_view host) {
  return plan.settings.on_inspect_failure == filters::InspectFailure::splice &&
         context.tls.pinned.contains(client.address, host);
}

// A blocked tunnel: answers every request inside it with the block page for the tunnel's
// decision, so the browser shows why. The caller records the CONNECT.
awaitable<void> serve_block_page(Connection& connection, Exchange& tunnel,
                                 const http::Target& target, std::string_view server_name);

}  // namespace hallpass::session
