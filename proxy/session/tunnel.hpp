// Steps every TLS tunnel takes, whether it arrived as a CONNECT or was redirected to the
// transparent listener: the first bytes judged, then a splice, an interception or a block.
#pragma once

#include <string>
#include <string_view>

#include "proxy/session/connection.hpp"
#include "proxy/tls/peek.hpp"

namespace hallpass::session {

// Relays the tunnel byte for byte (the peeked bytes in connection.buffer go first).
awaitable<void> splice_tunnel(Connection& connection, Exchange& exchange,
                              beast::tcp_stream& upstream);

// What the policy needs from the first bytes; `server_name` receives the normalized SNI.
filters::TunnelHello tunnel_hello(const tls::FirstBytes& first, std::string& server_name);

// Whether a blocked tunnel to `host` is answered with the block page inside TLS: the
// district CA is loaded and the client's policy leaves `tls_block_page` on.
bool block_page_inside(const Connection& connection, const Exchange& exchange,
                       std::string_view host);

}  // namespace hallpass::session
