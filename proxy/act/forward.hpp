// `forward`: carries an allowed HTTP request to its upstream and streams the response
// back. Shared by plain HTTP and intercepted TLS: the client stream is a template
// parameter, and the upstream comes from a link (see upstream_link.hpp) that is the worker's
// pool for plain HTTP and the intercepted connection's own verified TLS connection.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>

#include "filters/types.hpp"
#include "proxy/act/content_inspection.hpp"
#include "proxy/act/headers.hpp"
#include "proxy/act/held_budget.hpp"
#include "proxy/act/relay.hpp"
#include "proxy/act/upstream.hpp"
#include "proxy/act/websocket_relay.hpp"
#include "proxy/config/config.hpp"
#include "proxy/http/beast.hpp"
#include "proxy/http/target.hpp"

namespace hallpass::act {

// Judges where a redirect leads before the client follows it (Dracut 9: "Be aware of URL
// shortening services. Verify the landing site"); returns the block decision, if any.
using RedirectJudge = std::function<std::optional<filters::Decision>(const http::Target&)>;

struct ForwardContext {
  const config::Config& config;
  std::span<char> buffer;         // the relay buffer lent for this request
  std::span<char> upstream_read;  // storage for reading the upstream's response
  bool draining = false;          // close the client connection after this response
  RedirectJudge judge_redirect;
  ContentInspection* content = nullptr;  // scans (and may hold) the body; null: not scanned
  // Set for a WebSocket upgrade: a 101 hands the connection to relay_websocket.
  MessageInspection* websocket = nullptr;
  std::size_t websocket_hold = 1024 * 1024;
  HeldBudget* held_budget = nullptr;  // shared by every worker; null: no cap
};

struct BlockedRedirect {
  filters::Decision decision;
  std::string landing;  // the host the redirect pointed to
};

struct ForwardResult {
  unsigned status = 0;                       // what the client was sent; 0 when nothing was
  bool client_keep_alive = false;            // the client connection may carry another request
  std::optional<UpstreamFailure> failure;    // set when the session must answer with a page
  std::optional<http::Refusal> refusal;      // the request body was malformed
  std::optional<BlockedRedirect> redirect;   // the response redirected to a blocked place
  bool content_blocked = false;              // the held body was judged: nothing was sent
  std::optional<WebSocketResult> websocket;  // the request was upgraded and relayed
  std::uint64_t bytes_from_client = 0;
  std::uint64_t bytes_to_client = 0;
};

inline constexpr http::Refusal kBadBody{400, "bad_body", "The request body is malformed."};
inline constexpr http::Refusal kTrailerFields{
    400, "trailer_fields", "Request trailer fields are not accepted by this proxy."};
inline constexpr http::Refusal kHeldBudget{
    503, "held_bytes_limit",
    "The proxy is holding as many request bodies for checking as it may; try again shortly."};

// A GET asking to become a WebSocket (RFC 6455 §4.1).
bool is_websocket_upgrade(const bhttp::request<bhttp::buffer_body>& request);
// The upgrade headers go back after the hop-by-hop strip; extensions are cut to the ones the
// proxy can read.
void prepare_websocket_request(bhttp::request<bhttp::buffer_body>& request,
                               std::string_view client_extensions);
void prepare_websocket_response(bhttp::response<bhttp::buffer_body>& response);

namespace detail {

std::chrono::steady_clock::duration to_duration(config::Seconds seconds);

// The landing place of a 3xx response's Location, resolved against the request's target;
// nullopt when the response is not a redirect or its Location cannot be parsed.
std::optional<http::Target> redirect_landing(const bhttp::response<bhttp::buffer_body>& response,
                                             const http::Target& request_target);

// The upstream response is read into fixed storage lent by the session: reads fill it whole
// instead of starting at Beast's 512-byte minimum in a fresh dynamic buffer.
struct ResponseBuffer {
  explicit ResponseBuffer(std::span<char> storage) : buffer(storage.data(), storage.size()) {}
  beast::flat_static_buffer_base buffer;
};

// Reads the first body piece into the lent buffer; or, when the content scanner may block
// this request, the body into `held` until it ends or reaches the hold limit (past it the
// body is forwarded unjudged, or under `on_oversize: block` not at all: `first` stays
// empty). Every piece read is fed to the scanner. False: bad framing.
template <typename ClientStream>
awaitable<std::optional<http::Refusal>> read_first_body(
    ClientStream& client, beast::flat_buffer& client_buffer, RequestParser& request,
    ForwardContext& context, std::chrono::steady_clock::duration wait, std::string& held,
    HeldCharge& charge, std::optional<std::span<char>>& first) {
  auto* content = context.content;
  bool hold = content != nullptr && content->holds();
  for (;;) {
    auto [ec, n] = co_await read_body_piece(client, client_buffer, request, context.buffer, wait);
    if (ec) {
      co_return kBadBody;
    }
    if (content != nullptr) {
      content->feed(std::string_view(context.buffer.data(), n));
    }
    if (!hold) {
      first = context.buffer.first(n);
      co_return std::nullopt;
    }
    if (!charge.take(n)) {
      co_return kHeldBudget;
    }
    held.append(context.buffer.data(), n);
    if (request.is_done() || held.size() >= content->hold_bytes()) {
      if (request.is_done() || content->over_hold_limit()) {
        first = std::span<char>(held);
      }
      co_return std::nullopt;
    }
  }
}

// The server agreed to a WebSocket: its 101 goes to the client and the connection becomes
// a relay; nothing of it goes back to a pool.
template <typename ClientStream, typename UpstreamStream>
awaitable<ForwardResult> relay_upgraded(ClientStream& client, beast::flat_buffer& client_buffer,
                                        UpstreamStream& upstream,
                                        beast::flat_static_buffer_base& leftover,
                                        bhttp::response<bhttp::buffer_body>& res,
                                        const http::Target& target, ForwardContext& context,
                                        ForwardResult result) {
  auto negotiated =
      websocket::parse_accepted(std::string_view(res[bhttp::field::sec_websocket_extensions]));
  if (!negotiated.ok) {
    result.failure = UpstreamFailure{
        502, "upstream_websocket_extension",
        "The server " + target.authority + " chose a WebSocket extension the filter cannot read."};
    co_return result;
  }
  prepare_websocket_response(res);
  result.status = 101;
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = false;
  bhttp::serializer<false, bhttp::buffer_body> writer(res);
  beast::get_lowest_layer(client).expires_after(to_duration(context.config.timeouts.idle));
  auto [ec, n] = co_await bhttp::async_write_header(client, writer, use_tuple);
  if (ec) {
    co_return result;
  }
  result.websocket = co_await relay_websocket(
      client, client_buffer, upstream, leftover, negotiated, *context.websocket,
      context.websocket_hold, context.buffer, to_duration(context.config.timeouts.tunnel_idle));
  result.bytes_from_client = result.websocket->bytes_from_client;
  result.bytes_to_client = result.websocket->bytes_to_client;
  result.client_keep_alive = false;
  co_return result;
}

// The server broke off its response. When its head already went out, the client's
// connection is reset, not closed: where the close is the body's only end (no length, or a
// chunked body relayed to an HTTP/1.0 client) a clean close would pass the cut body off as
// whole. When nothing went out yet, the client gets the error page instead.
template <typename ClientStream>
UpstreamFailure cut_response(ClientStream& client, RelayStatus relayed, const http::Target& target,
                             bool head_sent) {
  if (head_sent) {
    error_code ignored;
    beast::get_lowest_layer(client).socket().set_option(asio::socket_base::linger(true, 0),
                                                        ignored);
  }
  if (relayed == RelayStatus::read_timed_out) {
    return {504, "upstream_timeout",
            "The server " + target.authority + " stopped sending its response."};
  }
  return {502, "upstream_reset",
          "The connection to " + target.authority + " broke during the response."};
}

}  // namespace detail

template <typename ClientStream, typename Link>
awaitable<ForwardResult> forward(ClientStream& client, beast::flat_buffer& client_buffer,
                                 RequestParser& request, const http::Target& target,
                                 ForwardContext& context, Link& link) {
  using namespace detail;
  ForwardResult result;
  const auto& timeouts = context.config.timeouts;
  auto client_wait = to_duration(timeouts.idle);
  auto upstream_wait = to_duration(timeouts.upstream);
  auto& req = request.get();
  bool client_keep_alive = req.keep_alive() && !context.draining;
  unsigned client_version = req.version();
  bool has_body = !request.is_done();
  if (has_body && expects_continue(req)) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    beast::get_lowest_layer(client).expires_after(client_wait);
    co_await asio::async_write(client, asio::buffer(kContinue), use_tuple);
  }
  std::string client_extensions;
  if (context.websocket != nullptr) {
    client_extensions = std::string(req[bhttp::field::sec_websocket_extensions]);
  }
  prepare_upstream_request(req, target);
  if (context.websocket != nullptr) {
    prepare_websocket_request(req, client_extensions);
  }

  // The first body piece (or, for content the policy may block, the body up to the hold
  // limit) is read before anything is sent upstream, so a request whose framing is broken
  // from the start, or whose content is refused, never reaches the server.
  auto* content = context.content;
  std::optional<std::span<char>> first;
  std::string held;
  HeldCharge charge(context.held_budget);
  // Beast adds a chunked body's trailer fields to the message's own fields, and the head goes
  // upstream only after the first piece: a body that ends within it would carry its trailers
  // as headers ("Host: evil.test"), past the pre-scan. No browser sends request trailers, so
  // a request with any is refused; trailers of a body already streaming are never written.
  auto fields_before = std::distance(req.begin(), req.end());
  if (has_body) {
    if (auto refusal = co_await read_first_body(client, client_buffer, request, context,
                                                client_wait, held, charge, first)) {
      result.refusal = *refusal;
      co_return result;
    }
    if (std::distance(req.begin(), req.end()) != fields_before) {
      result.refusal = kTrailerFields;
      co_return result;
    }
    if (content != nullptr && content->holds() && (request.is_done() || !first) &&
        content->finish().block) {
      result.content_blocked = true;
      // The rest of a body too large to hold was never read: it cannot be skipped safely.
      result.client_keep_alive = client_keep_alive && request.is_done();
      co_return result;
    }
  }
  auto on_piece = [content](std::string_view piece) {
    if (content != nullptr) {
      content->feed(piece);
    }
  };

  ResponseBuffer exchange(context.upstream_read);
  std::optional<ResponseParser> response;
  for (int attempt = 0; attempt < 2; ++attempt) {
    exchange.buffer.clear();
    if (auto failure = co_await link.open(attempt > 0)) {
      result.failure = std::move(*failure);
      co_return result;
    }
    auto& upstream = link.stream();
    bhttp::serializer<true, bhttp::buffer_body> request_writer(req);
    auto sent = co_await relay_body(client, client_buffer, request, upstream, request_writer,
                                    context.buffer, first, Deadlines{client_wait, upstream_wait},
                                    result.bytes_from_client, on_piece);
    if (sent == RelayStatus::read_failed || sent == RelayStatus::read_timed_out) {
      result.refusal = kBadBody;
      co_return result;
    }
    bool retry_allowed = link.reused() && !has_body;
    if (sent == RelayStatus::write_failed) {
      if (retry_allowed) {
        continue;  // a pooled connection the server had already closed
      }
      result.failure = UpstreamFailure{
          502, "upstream_reset",
          "The connection to " + target.authority + " failed while sending the request."};
      co_return result;
    }
    // Interim 1xx responses are consumed here: Expect was answered by us, Upgrade stripped.
    error_code ec;
    do {
      response.emplace();
      response->body_limit(boost::none);
      if (req.method() == bhttp::verb::head) {
        response->skip(true);
      }
      beast::get_lowest_layer(upstream).expires_after(upstream_wait);
      std::tie(ec, std::ignore) =
          co_await bhttp::async_read_header(upstream, exchange.buffer, *response, use_tuple);
    } while (!ec && response->get().result_int() / 100 == 1 &&
             !(context.websocket != nullptr &&
               response->get().result() == bhttp::status::switching_protocols));
    if (!ec) {
      break;
    }
    if (retry_allowed &&
        (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset) &&
        exchange.buffer.size() == 0) {
      continue;
    }
    if (ec == beast::error::timeout) {
      result.failure = UpstreamFailure{
          504, "upstream_timeout", "The server " + target.authority + " did not answer in time."};
    } else {
      result.failure = UpstreamFailure{502, "upstream_bad_response",
                                       "The server " + target.authority +
                                           " sent no valid HTTP response (" + ec.message() + ")."};
    }
    co_return result;
  }
  if (!response) {
    result.failure = UpstreamFailure{502, "upstream_reset",
                                     "The connection to " + target.authority + " failed."};
    co_return result;
  }

  auto& res = response->get();
  if (context.judge_redirect) {
    if (auto landing = redirect_landing(res, target)) {
      if (auto blocked = context.judge_redirect(*landing)) {
        result.redirect = BlockedRedirect{*blocked, landing->host};
        co_return result;  // the response is dropped with its connection, never relayed
      }
    }
  }
  if (context.websocket != nullptr && res.result() == bhttp::status::switching_protocols) {
    co_return co_await relay_upgraded(client, client_buffer, link.stream(), exchange.buffer, res,
                                      target, context, std::move(result));
  }
  bool upstream_reusable = response->keep_alive() && !response->need_eof();
  client_keep_alive = client_keep_alive && !response->need_eof();
  prepare_client_response(res, client_version, client_keep_alive);
  client_keep_alive = res.keep_alive();
  result.status = res.result_int();
  bhttp::serializer<false, bhttp::buffer_body> response_writer(res);
  auto relayed = co_await relay_body(link.stream(), exchange.buffer, *response, client,
                                     response_writer, context.buffer, std::nullopt,
                                     Deadlines{upstream_wait, client_wait}, result.bytes_to_client);
  if (relayed != RelayStatus::done) {
    result.client_keep_alive = false;  // the client saw a cut response; it must not reuse it
    if (relayed != RelayStatus::write_failed) {
      bool head_sent = response_writer.is_header_done();
      result.failure = cut_response(client, relayed, target, head_sent);
      if (!head_sent) {
        result.status = 0;  // nothing reached the client: it gets the error page
      }
    }
    co_return result;
  }
  result.client_keep_alive = client_keep_alive;
  if (upstream_reusable && response->is_done() && exchange.buffer.size() == 0) {
    link.keep();
  }
  co_return result;
}

}  // namespace hallpass::act
