// Intercepted tunnels. The client side is TLS with a minted leaf; requests inside arrive in
// origin form and are held to the server name the client's TLS named.
#include <spdlog/spdlog.h>

#include "filters/host.hpp"
#include "proxy/http/read_head.hpp"
#include "proxy/session/intercept.hpp"
#include "proxy/session/serve_request.hpp"
#include "proxy/tls/handshake_failure.hpp"
#include "proxy/tls/upstream_tls.hpp"

namespace hallpass::session {

namespace {

constexpr http::Refusal kNotOriginForm{400, "not_origin_form",
                                       "Requests inside a secure tunnel must name a path."};
constexpr http::Refusal kMisdirected{421, "misdirected_request",
                                     "The request names another site than its secure "
                                     "connection was made for."};
constexpr std::size_t kBlockPagesPerTunnel = 16;

// The server side of the tunnel: the ClientHello already read sits in connection.buffer and
// is fed to the handshake first. nullopt when it failed (counted and noted in the outcome).
awaitable<std::optional<tls::TlsStream>> accept_tls(Connection& connection, Exchange& tunnel,
                                                    std::string_view server_name) {
  auto& context = connection.context;
  auto& metrics = context.recorder.metrics();
  auto leaf = context.tls.leaves->get(server_name);
  auto stats = context.tls.leaves->stats();
  metrics.leaf_cache(stats.hits, stats.misses, stats.size);
  if (!leaf) {
    // The client already expects TLS, so no page can be sent: the tunnel is closed.
    tunnel.outcome.inspect_failure = "mint_failed";
    tunnel.outcome.status = 502;
    metrics.inspect_failure("mint_failed");
    co_return std::nullopt;
  }
  std::optional<tls::TlsStream> client(std::in_place, std::move(connection.stream), leaf->context);
  beast::get_lowest_layer(*client).expires_after(to_duration(context.config.timeouts.head));
  auto [ec, used] = co_await client->async_handshake(asio::ssl::stream_base::server,
                                                     connection.buffer.data(), use_tuple);
  if (ec) {
    auto reason = tls::handshake_failure_reason(ec);
    tunnel.outcome.inspect_failure = reason;
    metrics.inspect_failure(reason);
    spdlog::debug("interception of {} failed: {}", server_name,
                  tls::handshake_failure_text(reason));
    co_return std::nullopt;
  }
  connection.buffer.consume(used);
  co_return client;
}

// The target of a request inside the tunnel: origin form, and a Host naming the server the
// client's TLS named or the host it tunnelled to (anything else would let one allowed name
// carry another site). Either way the request goes to, and is judged as, the TLS name.
std::optional<http::Target> inner_target(const bhttp::request<bhttp::buffer_body>& request,
                                         const http::Target& tunnel, std::string_view connect_host,
                                         http::Refusal& refusal) {
  auto path = std::string_view(request.target().data(), request.target().size());
  if (!path.starts_with('/')) {
    refusal = kNotOriginForm;
    return std::nullopt;
  }
  auto host_field = request[bhttp::field::host];
  auto authority = filters::split_host_port(std::string_view(host_field.data(), host_field.size()));
  auto host = authority ? filters::normalize_host(authority->host) : std::nullopt;
  if (!host || (*host != tunnel.host && *host != connect_host) ||
      (authority->port != 0 && authority->port != tunnel.port)) {
    refusal = kMisdirected;
    return std::nullopt;
  }
  http::Target target = tunnel;
  target.path = path;
  return target;
}

// Sends close_notify so a response delimited by the end of the connection is not taken for
// a truncation (OpenSSL 3 clients treat a bare TCP close inside TLS as an error). The wait
// for the client's own close_notify is short: some clients never send it.
awaitable<void> close_tls(tls::TlsStream& client) {
  beast::get_lowest_layer(client).expires_after(std::chrono::seconds(2));
  co_await client.async_shutdown(use_tuple);
}

template <typename Serve>
awaitable<void> request_loop(Connection& connection, tls::TlsStream& client, Exchange& tunnel,
                             std::size_t max_requests, Serve serve) {
  auto limits = head_limits(connection.context.config.limits);
  for (std::size_t served = 0; served < max_requests; ++served) {
    RequestParser parser;
    auto head = co_await http::read_head(client, connection.buffer, parser, limits,
                                         head_deadlines(connection, false));
    if (head.kind == http::HeadOutcome::closed) {
      co_return;
    }
    auto method = parser.get().method_string();
    Exchange exchange(connection, head.kind == http::HeadOutcome::refused
                                      ? std::string_view("-")
                                      : std::string_view(method.data(), method.size()));
    exchange.client = tunnel.client;
    exchange.outcome.decision.role = tunnel.client.role;
    exchange.outcome.user = tunnel.outcome.user;
    exchange.outcome.server_name = tunnel.outcome.server_name;
    exchange.outcome.tls = tunnel.outcome.tls;
    if (!connection.follow_reload()) {
      co_await exchange.refuse(connection, client, kClientNotAllowed);
      exchange.record(connection);
      co_return;
    }
    if (head.kind == http::HeadOutcome::refused) {
      co_await exchange.refuse(connection, client, head.refusal);
      exchange.record(connection);
      co_return;
    }
    exchange.version = parser.get().version();
    if (!co_await serve(parser, exchange)) {
      co_return;
    }
  }
}

}  // namespace

awaitable<void> intercept(Connection& connection, Exchange& tunnel, const http::Target& target,
                          std::string server_name, filters::TlsSettings settings,
                          beast::tcp_stream upstream) {
  auto& context = connection.context;
  auto& metrics = context.recorder.metrics();
  auto client = co_await accept_tls(connection, tunnel, server_name);
  if (!client) {
    // Splice this client's next tunnels to the host instead (the policy's choice for pinned
    // apps); this connection's handshake bytes are spent, so it ends here either way.
    if (settings.on_inspect_failure == filters::InspectFailure::splice) {
      context.tls.pinned.add(tunnel.client.address, server_name);
    }
    tunnel.record(connection);
    co_return;
  }
  tunnel.outcome.tls = "intercept";
  tunnel.outcome.server_name = server_name;
  metrics.tls_tunnel("intercept");
  tunnel.record(connection);

  http::Target inner{
      server_name,
      target.port,
      {},
      target.port == 443 ? server_name : server_name + ":" + std::to_string(target.port)};
  tls::TlsLink link(*context.tls.upstream, context.config, inner, std::move(upstream));
  co_await request_loop(connection, *client, tunnel, std::numeric_limits<std::size_t>::max(),
                        [&](RequestParser& parser, Exchange& exchange) -> awaitable<bool> {
                          http::Refusal refusal;
                          auto request_target =
                              inner_target(parser.get(), inner, target.host, refusal);
                          if (!request_target) {
                            exchange.outcome.host = inner.host;
                            co_await exchange.refuse(connection, *client, refusal);
                            exchange.record(connection);
                            co_return false;
                          }
                          co_return co_await serve_request(connection, *client, parser, exchange,
                                                           *request_target, link);
                        });
  co_await close_tls(*client);
}

awaitable<void> serve_block_page(Connection& connection, Exchange& tunnel,
                                 const http::Target& target, std::string_view server_name) {
  auto name = server_name.empty() ? std::string_view(target.host) : server_name;
  auto client = co_await accept_tls(connection, tunnel, name);
  if (!client) {
    co_return;
  }
  tunnel.outcome.tls = "block_page";
  connection.context.recorder.metrics().tls_tunnel("block_page");
  // One audit line for the tunnel (the caller's); the pages inside repeat its decision.
  co_await request_loop(
      connection, *client, tunnel, kBlockPagesPerTunnel,
      [&](RequestParser& parser, Exchange&) -> awaitable<bool> {
        bool keep_alive = parser.is_done() && parser.get().keep_alive();
        auto html = act::block_page(tunnel.page_context(connection), tunnel.outcome.decision, name);
        co_return co_await act::write_page(*client, 403, std::move(html), keep_alive,
                                           parser.get().version(), connection.idle()) &&
            keep_alive;
      });
  co_await close_tls(*client);
}

}  // namespace hallpass::session
