// Transparent gateway mode: connections the gateway's firewall redirected here from devices
// with no proxy setting. The original destination comes from the kernel (SO_ORIGINAL_DST
// under REDIRECT/DNAT, the socket's own address under TPROXY); TLS is told from HTTP by the
// first bytes, not by the port. Traffic only ever goes on to that original address: a Host
// that names a server living elsewhere is refused (Squid's CVE-2009-0801).
#include <netinet/in.h>
#include <sys/socket.h>

#include "filters/host.hpp"
#include "proxy/accept/address.hpp"
#include "proxy/act/upstream_link.hpp"
#include "proxy/session/intercept.hpp"
#include "proxy/session/serve_request.hpp"
#include "proxy/session/tear_down.hpp"
#include "proxy/session/tunnel.hpp"

namespace hallpass::session {

namespace {

// The kernel's values from <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>,
// which cannot be included next to <netinet/in.h>.
constexpr int kSoOriginalDst = 80;
constexpr int kIp6tSoOriginalDst = 80;

constexpr http::Refusal kNotOriginForm{400, "not_origin_form",
                                       "Requests to a web server must name a path."};
constexpr http::Refusal kNoHost{400, "bad_host", "The request has no valid Host header."};

// A fatal TLS alert (access_denied) in a plaintext record: what a client gets for a blocked
// name when nothing can be decrypted. Browsers show their own error for it.
constexpr unsigned char kAccessDenied[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x31};

asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

// Where the client was going before the gateway redirected it here.
tcp::endpoint original_destination(tcp::socket& socket) {
  error_code ec;
  auto local = socket.local_endpoint(ec);
  int fd = socket.native_handle();
  sockaddr_in6 v6{};
  socklen_t size = sizeof v6;
  if (local.address().is_v6() && !local.address().to_v6().is_v4_mapped() &&
      ::getsockopt(fd, SOL_IPV6, kIp6tSoOriginalDst, &v6, &size) == 0) {
    asio::ip::address_v6::bytes_type bytes;
    std::copy(std::begin(v6.sin6_addr.s6_addr), std::end(v6.sin6_addr.s6_addr), bytes.begin());
    return {asio::ip::address_v6(bytes), ntohs(v6.sin6_port)};
  }
  sockaddr_in v4{};
  size = sizeof v4;
  if (::getsockopt(fd, SOL_IP, kSoOriginalDst, &v4, &size) == 0 && v4.sin_family == AF_INET) {
    return {asio::ip::address_v4(ntohl(v4.sin_addr.s_addr)), ntohs(v4.sin_port)};
  }
  // TPROXY keeps the original address on the socket itself (and so does a connection that
  // was not redirected at all, which the loop check then refuses).
  return {unmapped(local.address()), local.port()};
}

// A connection to one of the proxy's own listeners: either the firewall redirected the
// proxy's own traffic back to it, or a client dialled the transparent port directly.
bool loops(const tcp::endpoint& destination, const std::vector<tcp::endpoint>& own) {
  auto address = unmapped(destination.address());
  return std::any_of(own.begin(), own.end(), [&](const tcp::endpoint& listener) {
    return listener.port() == destination.port() &&
           (listener.address().is_unspecified() || unmapped(listener.address()) == address);
  });
}

http::Target endpoint_target(const std::string& host, const tcp::endpoint& destination) {
  bool v6 = host.find(':') != std::string::npos;
  return {host,
          destination.port(),
          {},
          (v6 ? "[" + host + "]" : host) + ":" + std::to_string(destination.port())};
}

awaitable<void> send_alert(Connection& connection) {
  connection.stream.expires_after(std::chrono::seconds(5));
  co_await asio::async_write(connection.stream, asio::buffer(kAccessDenied), use_tuple);
}

// The name's own addresses (the Host's, or the SNI's) must include the one the client was
// going to: otherwise an allowed name opens a way to any address.
awaitable<bool> host_lives_at(const http::Target& target, const tcp::endpoint& destination,
                              const config::Upstream& settings) {
  auto resolved = co_await act::resolve_upstream(target, settings);
  auto address = unmapped(destination.address());
  co_return !resolved.failure &&
      std::any_of(resolved.endpoints.begin(), resolved.endpoints.end(),
                  [&](const tcp::endpoint& e) { return unmapped(e.address()) == address; });
}

// A TLS connection: decided on its server name exactly as a CONNECT's first bytes are.
awaitable<void> serve_tls(Connection& connection, const tcp::endpoint& destination,
                          const tls::FirstBytes& first) {
  auto& context = connection.context;
  Exchange exchange(connection, "CONNECT");
  auto& outcome = exchange.outcome;
  std::string server_name;
  auto hello = tunnel_hello(first, server_name);
  auto address_text = unmapped(destination.address()).to_string();
  auto target = endpoint_target(server_name.empty() ? address_text : server_name, destination);
  outcome.host = target.host;
  outcome.port = target.port;
  outcome.server_name = server_name;
  outcome.encrypted_client_hello = first.client_hello.encrypted_client_hello;
  filters::Request asked{outcome.method, target.host, target.port, {}, {}, {}, local_time_now()};
  outcome.decision = timed_decision(connection, [&](const filters::Policy& policy) {
    return policy.decide_tunnel(exchange.client, asked, hello);
  });
  if (outcome.decision.action == filters::Action::block) {
    outcome.status = 403;
    if (!server_name.empty() && block_page_inside(connection, exchange, target.host)) {
      co_await serve_block_page(connection, exchange, target, server_name);
    } else {
      outcome.tls = "alert";
      co_await send_alert(connection);
    }
    exchange.record(connection);
    co_return;
  }
  // A spliced tunnel is never verified, so an allowed SNI sent to a VPN server's address
  // would pass; an intercepted one would fail on the certificate, but later and less
  // clearly. Both are refused here, as plain HTTP is on its Host.
  if (!server_name.empty() &&
      !co_await host_lives_at(target, destination, context.config.upstream)) {
    outcome.decision = connection.policy->host_mismatch(exchange.client);
    outcome.status = 403;
    outcome.tls = "alert";
    co_await send_alert(connection);
    exchange.record(connection);
    co_return;
  }
  std::vector<tcp::endpoint> endpoints{destination};
  auto connected =
      co_await act::connect_endpoints(endpoints, target, context.config.timeouts.connect);
  if (!connected.stream) {
    // The client already speaks TLS: no page can be read, so the alert says it ended.
    co_await report_upstream_failure(connection, connection.stream, exchange, connected.failure,
                                     false);
    outcome.status = connected.failure.status;
    co_await send_alert(connection);
    exchange.record(connection);
    co_return;
  }
  outcome.status = 200;
  record::OpenTunnel open_tunnel(context.recorder.metrics());
  auto plan = connection.policy->tls_plan(exchange.client, target.host);
  if (plan.inspect && context.tls.leaves && !server_name.empty() &&
      !spliced_after_failure(context, exchange.client, plan, server_name)) {
    co_await intercept(connection, exchange, target, server_name, plan.settings,
                       std::move(*connected.stream));
    co_return;
  }
  co_await splice_tunnel(connection, exchange, *connected.stream);
  exchange.record(connection);
}

// Origin-form requests, one after another on the connection, each sent only to the
// original destination.
awaitable<void> serve_http(Connection& connection, const tcp::endpoint& destination) {
  auto& context = connection.context;
  for (bool first = true;; first = false) {
    RequestParser parser;
    if (!co_await read_request(connection, parser, first)) {
      co_return;
    }
    bool allowed = connection.follow_reload();
    auto& request = parser.get();
    auto method = request.method_string();
    Exchange exchange(connection, std::string_view(method.data(), method.size()));
    exchange.version = request.version();
    if (!allowed) {
      co_await exchange.refuse(connection, kClientNotAllowed);
      exchange.record(connection);
      co_return;
    }
    auto path = std::string(request.target());
    auto host_header = request[bhttp::field::host];
    auto split = filters::split_host_port(std::string_view(host_header.data(), host_header.size()));
    auto host = split ? filters::normalize_host(split->host) : std::nullopt;
    if (!path.starts_with('/') || request.method() == bhttp::verb::connect || !host) {
      co_await exchange.refuse(connection, host ? kNotOriginForm : kNoHost);
      exchange.record(connection);
      co_return;
    }
    http::Target target = endpoint_target(*host, destination);
    target.path = std::move(path);
    target.authority = std::string(host_header.data(), host_header.size());
    if (!co_await host_lives_at(target, destination, context.config.upstream)) {
      auto& outcome = exchange.outcome;
      outcome.host = target.host;
      outcome.port = target.port;
      outcome.path = path_without_query(target.path);
      outcome.decision = connection.policy->host_mismatch(exchange.client);
      outcome.status = 403;
      auto html = act::block_page(exchange.page_context(connection), outcome.decision, target.host);
      co_await act::write_page(connection.stream, 403, std::move(html), false, exchange.version,
                               connection.idle());
      exchange.record(connection);
      co_return;
    }
    act::PooledLink link(context.pool, context.config, target, destination);
    if (!co_await serve_request(connection, connection.stream, parser, exchange, target, link)) {
      if (!parser.is_done()) {
        co_await tear_down(connection.stream);
      }
      co_return;
    }
  }
}

}  // namespace

awaitable<void> serve_transparent(tcp::socket socket, SessionContext& context,
                                  [[maybe_unused]] ConnectionSlot slot) {
  error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) {
    co_return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  auto destination = original_destination(socket);
  Connection connection{context, context.policy, {}, {}, beast::tcp_stream(std::move(socket)),
                        {},      "transparent"};
  connection.buffer.max_size(client_buffer_limit(context.config.limits));
  auto address = accept::to_ip_address(peer);
  connection.client = connection.policy->identify(address);
  connection.client_text = address.to_string();
  if (loops(destination, context.own_endpoints)) {
    Exchange exchange(connection, "-");
    exchange.outcome.decision.action = filters::Action::block;
    exchange.outcome.decision.reason_code = "transparent_loop";
    exchange.record(connection);
    co_return;
  }
  auto first = co_await tls::read_first_bytes(connection.stream, connection.buffer,
                                              to_duration(context.config.timeouts.head));
  if (first.kind == tls::FirstBytes::closed) {
    co_return;
  }
  if (first.kind == tls::FirstBytes::hello) {
    co_await serve_tls(connection, destination, first);
    co_return;
  }
  // HTTP starts with a method token; anything else (or silence) is judged as a tunnel that
  // is not TLS: an anonymizer on 443, and nothing this listener can carry elsewhere.
  auto data = connection.buffer.data();
  auto bytes = std::string_view(static_cast<const char*>(data.data()), data.size());
  if (first.kind == tls::FirstBytes::not_tls && !bytes.empty() && bytes[0] >= 'A' &&
      bytes[0] <= 'Z') {
    co_await serve_http(connection, destination);
    co_return;
  }
  Exchange exchange(connection, "CONNECT");
  auto address_text = unmapped(destination.address()).to_string();
  auto target = endpoint_target(address_text, destination);
  exchange.outcome.host = target.host;
  exchange.outcome.port = target.port;
  filters::Request asked{"CONNECT", target.host, target.port, {}, {}, {}, local_time_now()};
  exchange.outcome.decision = timed_decision(connection, [&](const filters::Policy& policy) {
    return policy.decide_tunnel(exchange.client, asked, filters::TunnelHello{false, {}});
  });
  exchange.outcome.status = 403;
  exchange.record(connection);
}

}  // namespace hallpass::session
