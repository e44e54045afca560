// CONNECT: only to allowed ports, decided on the authority; then the first bytes are read
// and decided again (TLS or not, the server name), and the tunnel is spliced, intercepted,
// or answered with the block page inside TLS.
#include <algorithm>

#include "filters/host.hpp"
#include "proxy/act/respond.hpp"
#include "proxy/act/tunnel.hpp"
#include "proxy/act/upstream.hpp"
#include "proxy/session/connection.hpp"
#include "proxy/session/intercept.hpp"
#include "proxy/session/local_time.hpp"
#include "proxy/session/tunnel.hpp"
#include "proxy/tls/peek.hpp"

namespace hallpass::session {

namespace {

constexpr http::Refusal kConnectPort{403, "connect_port",
                                     "Tunnels are only allowed to the configured TLS ports."};
constexpr std::uint16_t kHttpsPort = 443;

awaitable<bool> send_established(Connection& connection) {
  static constexpr std::string_view kEstablished =
      "HTTP/1.1 200 Connection established\r\nVia: 1.1 hallpass\r\n\r\n";
  connection.stream.expires_after(connection.idle());
  auto [ec, n] =
      co_await asio::async_write(connection.stream, asio::buffer(kEstablished), use_tuple);
  co_return !ec;
}

// A blocked CONNECT: with the district CA and the policy's leave, the browser gets the block
// page inside TLS; otherwise the plain 403 page (which browsers do not show).
awaitable<void> refuse_tunnel(Connection& connection, Exchange& exchange,
                              const http::Target& target) {
  auto& outcome = exchange.outcome;
  if (block_page_inside(connection, exchange, target.host)) {
    if (!co_await send_established(connection)) {
      co_return;
    }
    auto first = co_await tls::read_first_bytes(
        connection.stream, connection.buffer, to_duration(connection.context.config.timeouts.head));
    if (first.kind == tls::FirstBytes::hello) {
      outcome.status = 403;
      std::string server_name;
      tunnel_hello(first, server_name);
      co_await serve_block_page(connection, exchange, target, server_name);
    }
    co_return;
  }
  outcome.status = 403;
  auto html = act::block_page(exchange.page_context(connection), outcome.decision, target.host);
  co_await act::write_page(connection.stream, 403, std::move(html), false, exchange.version,
                           connection.idle());
}

}  // namespace

awaitable<void> splice_tunnel(Connection& connection, Exchange& exchange,
                              beast::tcp_stream& upstream) {
  auto& metrics = connection.context.recorder.metrics();
  exchange.outcome.tls = "splice";
  metrics.tls_tunnel("splice");
  auto bytes = co_await act::splice(connection.stream, connection.buffer, upstream,
                                    to_duration(connection.context.config.timeouts.tunnel_idle));
  exchange.outcome.bytes_from_client = bytes.from_client;
  exchange.outcome.bytes_to_client = bytes.to_client;
}

filters::TunnelHello tunnel_hello(const tls::FirstBytes& first, std::string& server_name) {
  if (first.kind != tls::FirstBytes::hello) {
    return {false, {}};
  }
  server_name = filters::normalize_host(first.client_hello.server_name).value_or("");
  return {true, server_name};
}

bool block_page_inside(const Connection& connection, const Exchange& exchange,
                       std::string_view host) {
  return connection.context.tls.leaves &&
         connection.policy->tls_plan(exchange.client, host).settings.block_page;
}

awaitable<void> handle_connect(Connection& connection, RequestParser& parser, Exchange& exchange) {
  auto& context = connection.context;
  auto& request = parser.get();
  auto parsed = http::parse_connect_target(
      std::string_view(request.target().data(), request.target().size()));
  if (!parsed.target) {
    co_await exchange.refuse(connection, parsed.refusal);
    exchange.record(connection);
    co_return;
  }
  const auto& target = *parsed.target;
  auto& outcome = exchange.outcome;
  outcome.host = target.host;
  outcome.port = target.port;
  const auto& ports = context.config.connect_ports;
  if (std::find(ports.begin(), ports.end(), target.port) == ports.end()) {
    co_await exchange.refuse(connection, kConnectPort);
    exchange.record(connection);
    co_return;
  }

  filters::Request asked{outcome.method, target.host, target.port, {}, {}, {}, local_time_now()};
  outcome.decision = timed_decision(connection, [&](const filters::Policy& policy) {
    return policy.decide(exchange.client, asked);
  });
  if (outcome.decision.action == filters::Action::block) {
    co_await refuse_tunnel(connection, exchange, target);
    exchange.record(connection);
    co_return;
  }

  // SafeSearch for a tunnel: connect to the provider's enforcement host; the client's TLS
  // name is unchanged, so nothing is decrypted.
  auto enforcement = connection.policy->enforcement(exchange.client, target.host);
  auto destination = target;
  if (!enforcement.connect_via.empty()) {
    destination.host = std::string(enforcement.connect_via);
    destination.authority = destination.host + ":" + std::to_string(destination.port);
    outcome.enforced_via = enforcement.connect_via;
  }
  // Connected before the 200, so an unreachable server still gets its 502/504 page.
  auto connected = co_await act::connect_upstream(destination, context.config.upstream,
                                                  context.config.timeouts.connect);
  if (!connected.stream) {
    co_await report_upstream_failure(connection, connection.stream, exchange, connected.failure,
                                     true);
    exchange.record(connection);
    co_return;
  }
  if (!co_await send_established(connection)) {
    exchange.record(connection);
    co_return;
  }
  outcome.status = 200;
  record::OpenTunnel open_tunnel(context.recorder.metrics());

  auto first = co_await tls::read_first_bytes(connection.stream, connection.buffer,
                                              to_duration(context.config.timeouts.head));
  if (first.kind == tls::FirstBytes::closed) {
    exchange.record(connection);
    co_return;
  }
  // Only 443 is held to TLS: other allowed ports may carry other protocols (some where the
  // server speaks first), so there only a ClientHello is judged again.
  bool judge = target.port == kHttpsPort || first.kind == tls::FirstBytes::hello;
  std::string server_name;
  if (judge) {
    auto hello = tunnel_hello(first, server_name);
    outcome.server_name = server_name;
    outcome.encrypted_client_hello = first.client_hello.encrypted_client_hello;
    // The server name is the more specific question, so its answer is the one recorded.
    outcome.decision = timed_decision(connection, [&](const filters::Policy& policy) {
      return policy.decide_tunnel(exchange.client, asked, hello);
    });
    if (outcome.decision.action == filters::Action::block) {
      outcome.status = 403;
      if (hello.is_tls && block_page_inside(connection, exchange, target.host)) {
        co_await serve_block_page(connection, exchange, target, server_name);
      }
      exchange.record(connection);
      co_return;
    }
  }

  auto name = server_name.empty() ? target.host : server_name;
  auto plan = connection.policy->tls_plan(exchange.client, name);
  if (plan.inspect && context.tls.leaves && first.kind == tls::FirstBytes::hello &&
      enforcement.connect_via.empty() &&
      !spliced_after_failure(context, exchange.client, plan, name)) {
    co_await intercept(connection, exchange, target, name, plan.settings,
                       std::move(*connected.stream));
    co_return;
  }
  co_await splice_tunnel(connection, exchange, *connected.stream);
  exchange.record(connection);
}

}  // namespace hallpass::session
