// The `accept` stage: listening sockets (one per worker, SO_REUSEPORT so the kernel spreads
// connections over the cores), the client-network ACL and the connection cap.
#pragma once

#include <atomic>
#include <string>

#include "proxy/http/beast.hpp"
#include "proxy/session/context.hpp"

namespace hallpass::accept {

// "ip:port" or "[v6]:port" (port 0: any free port). Throws std::runtime_error with the text.
tcp::endpoint parse_listen_address(const std::string& text);

// Opens, binds and listens. Throws std::system_error naming the address on failure.
// `tproxy`: IP_TRANSPARENT, so TPROXY can hand it connections for any address.
tcp::acceptor open_acceptor(asio::io_context& io, const tcp::endpoint& endpoint,
                            bool tproxy = false);

struct AcceptLimits {
  std::atomic<std::size_t>& open;
  std::size_t max_connections;
};

// Where a listener's connections come from: proxy clients, or the gateway's redirect.
enum class ListenerKind { explicit_proxy, transparent };

awaitable<void> accept_loop(tcp::acceptor& acceptor, session::SessionContext& context,
                            AcceptLimits limits, ListenerKind kind = ListenerKind::explicit_proxy);

}  // namespace hallpass::accept
