// CONNECT: only to allowed ports, decided on the authority, then spliced.
#include <algorithm>

#include "proxy/act/respond.hpp"
#include "proxy/act/tunnel.hpp"
#include "proxy/act/upstream.hpp"
#include "proxy/session/connection.hpp"
#include "proxy/session/local_time.hpp"

namespace hallpass::session {

namespace {

constexpr http::Refusal kConnectPort{403, "connect_port",
                                     "Tunnels are only allowed to the configured TLS ports."};

}  // namespace

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
  outcome.decision = connection.policy->decide(exchange.client, asked);
  if (outcome.decision.action == filters::Action::block) {
    outcome.status = 403;
    auto html = act::block_page(exchange.page_context(connection), outcome.decision, target.host);
    co_await act::write_page(connection.stream, 403, std::move(html), false, exchange.version,
                             connection.idle());
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
  auto connected = co_await act::connect_upstream(destination, context.config.upstream,
                                                  context.config.timeouts.connect);
  if (!connected.stream) {
    co_await report_upstream_failure(connection, exchange, connected.failure, true);
    exchange.record(connection);
    co_return;
  }
  static constexpr std::string_view kEstablished =
      "HTTP/1.1 200 Connection established\r\nVia: 1.1 hallpass\r\n\r\n";
  connection.stream.expires_after(connection.idle());
  auto [ec, n] =
      co_await asio::async_write(connection.stream, asio::buffer(kEstablished), use_tuple);
  if (ec) {
    exchange.record(connection);
    co_return;
  }
  outcome.status = 200;
  auto idle = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      context.config.timeouts.tunnel_idle);
  auto& metrics = context.recorder.metrics();
  metrics.tunnel_opened();
  auto bytes = co_await act::splice(connection.stream, connection.buffer, *connected.stream, idle);
  metrics.tunnel_closed();
  outcome.bytes_from_client = bytes.from_client;
  outcome.bytes_to_client = bytes.to_client;
  exchange.record(connection);
}

}  // namespace hallpass::session
