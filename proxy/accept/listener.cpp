#include "proxy/accept/listener.hpp"

#include <stdexcept>

#include <sstream>

#include "proxy/accept/address.hpp"
#include "proxy/accept/proxy_protocol.hpp"

namespace hallpass::accept {

namespace {

// A refused client learns why in one short response, then the connection closes.
awaitable<void> refuse(tcp::socket socket, std::string_view response) {
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::chrono::seconds(5));
  co_await asio::async_write(stream, asio::buffer(response), use_tuple);
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

constexpr std::string_view kNotAllowed =
    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 56\r\n"
    "Connection: close\r\n\r\nThis network is not allowed to use the district's proxy.";
constexpr std::string_view kBusy =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 46\r\n"
    "Retry-After: 5\r\nConnection: close\r\n\r\nThe proxy is at its connection limit; retry.\r\n";

}  // namespace

tcp::endpoint parse_listen_address(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    throw std::runtime_error("listen address \"" + text + "\" has no port");
  }
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  unsigned long port = 0;
  try {
    port = std::stoul(text.substr(colon + 1));
  } catch (const std::exception&) {
    port = 65536;
  }
  if (ec || port > 65535) {
    throw std::runtime_error("listen address \"" + text + "\" is not IP:PORT");
  }
  return {address, static_cast<std::uint16_t>(port)};
}

tcp::acceptor open_acceptor(asio::io_context& io, const tcp::endpoint& endpoint, bool tproxy) {
  tcp::acceptor acceptor(io);
  error_code ec;
  auto check = [&](const char* what) {
    if (ec) {
      std::ostringstream where;
      where << endpoint;
      throw std::system_error(ec, std::string(what) + " " + where.str());
    }
  };
  acceptor.open(endpoint.protocol(), ec);
  check("cannot open a socket for");
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    ec = error_code(errno, boost::system::system_category());
    check("cannot set SO_REUSEPORT on");
  }
  if (tproxy) {
    bool v6 = endpoint.address().is_v6();
    if (::setsockopt(acceptor.native_handle(), v6 ? SOL_IPV6 : SOL_IP,
                     v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof one) != 0) {
      ec = error_code(errno, boost::system::system_category());
      check("cannot set IP_TRANSPARENT (needs CAP_NET_ADMIN) on");
    }
  }
  acceptor.bind(endpoint, ec);
  check("cannot listen on");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  check("cannot listen on");
  return acceptor;
}

awaitable<void> accept_loop(tcp::acceptor& acceptor, session::SessionContext& context,
                            AcceptLimits limits, ListenerKind kind) {
  bool transparent = kind == ListenerKind::transparent;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer backoff(executor);
  auto& metrics = context.recorder.metrics();
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      // Out of descriptors and similar: wait instead of spinning on the same error.
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    if (peer_ec) {
      continue;
    }
    // A redirected client may be speaking TLS: it gets no HTTP answer, only a closed socket.
    // A trusted balancer is not a client itself: `clients:` applies to whom it speaks for,
    // once its PROXY header is read (session::learn_client_from_balancer).
    auto address = to_ip_address(peer);
    bool balancer =
        !transparent && is_trusted_balancer(context.config.proxy_protocol_trusted, address);
    if (!balancer && !context.policy->client_allowed(address)) {
      metrics.connection_refused("client_not_allowed");
      if (!transparent) {
        asio::co_spawn(executor, refuse(std::move(socket), kNotAllowed), asio::detached);
      }
      continue;
    }
    if (limits.open.fetch_add(1, std::memory_order_relaxed) >= limits.max_connections) {
      limits.open.fetch_sub(1, std::memory_order_relaxed);
      metrics.connection_refused("capacity");
      if (!transparent) {
        asio::co_spawn(executor, refuse(std::move(socket), kBusy), asio::detached);
      }
      continue;
    }
    session::ConnectionSlot slot(limits.open, metrics);
    auto serve = transparent ? session::serve_transparent : session::serve_connection;
    asio::co_spawn(executor, serve(std::move(socket), context, std::move(slot)), asio::detached);
  }
}

}  // namespace hallpass::accept
