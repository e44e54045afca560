// Session internals: one client connection and the request in progress on it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "proxy/act/pages.hpp"
#include "proxy/act/respond.hpp"
#include "proxy/act/upstream.hpp"
#include "proxy/http/prescan.hpp"
#include "proxy/http/read_head.hpp"
#include "proxy/record/outcome.hpp"
#include "proxy/session/context.hpp"

namespace hallpass::session {

struct Connection {
  SessionContext& context;
  std::shared_ptr<const filters::Policy> policy;  // the worker's, as of the last request
  filters::Client client;
  std::string client_text;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string_view mode = "explicit";  // or "transparent": how the client reached the proxy

  std::chrono::steady_clock::duration idle() const;
  // A reload reaches an open connection at its next request: a browser keeps its
  // connection to the proxy for minutes, and what the reload blocks must be blocked on it
  // too. The client is identified again (its building or role may have moved); false when
  // the new policy no longer lets it in.
  bool follow_reload();
};

// The client's read buffer holds a request head, a chunk-size line with its extensions, or
// a trailer section: never a body, which goes through lent buffers. Beast keeps a whole line
// or section in it to parse it, so without a cap one 32 MiB chunk extension or trailer pins
// 32 MiB; past the cap the read fails and the request is refused as malformed.
inline std::size_t client_buffer_limit(const config::Limits& limits) {
  return limits.max_head_bytes + 256 * 1024;
}

inline constexpr http::Refusal kClientNotAllowed{
    403, "client_not_allowed", "This network is not allowed to use the district's proxy."};

// One request from head to record.
struct Exchange {
  Exchange(Connection& connection, std::string_view method);

  act::PageContext page_context(const Connection& connection) const;
  // Sends a Hallpass error page on `stream` (the client's, plain or TLS) and closes; the
  // outcome takes its status.
  template <typename Stream>
  awaitable<void> send_error(Connection& connection, Stream& stream, unsigned status,
                             std::string_view reason, std::string_view message);
  // The proxy itself refuses the request (malformed, port, ...): recorded as a block.
  template <typename Stream>
  awaitable<void> refuse(Connection& connection, Stream& stream, const http::Refusal& refusal);
  awaitable<void> refuse(Connection& connection, const http::Refusal& refusal) {
    return refuse(connection, connection.stream, refusal);
  }
  void record(Connection& connection);

  filters::Client client;  // the connection's, with the role of an authenticated user
  char request_id[24];
  mutable std::string time_text;  // formatted on first use: only pages show it
  std::chrono::steady_clock::time_point started;
  record::Outcome outcome;
  unsigned version = 11;
};

template <typename Stream>
awaitable<void> Exchange::send_error(Connection& connection, Stream& stream, unsigned status,
                                     std::string_view reason, std::string_view message) {
  outcome.status = status;
  auto html = act::error_page(page_context(connection), status, reason, message);
  co_await act::write_page(stream, status, std::move(html), false, version, connection.idle());
}

template <typename Stream>
awaitable<void> Exchange::refuse(Connection& connection, Stream& stream,
                                 const http::Refusal& refusal) {
  outcome.decision.action = filters::Action::block;
  outcome.decision.reason_code = refusal.reason_code;
  co_await send_error(connection, stream, refusal.status, refusal.reason_code, refusal.message);
}

// Records an upstream failure (a refused destination counts as a block) and, when nothing
// was sent yet, answers with its page.
template <typename Stream>
awaitable<void> report_upstream_failure(Connection& connection, Stream& stream, Exchange& exchange,
                                        const act::UpstreamFailure& failure, bool send_page) {
  exchange.outcome.upstream_error = failure.cause;
  connection.context.recorder.metrics().upstream_error(failure.cause);
  if (failure.status == 403) {  // a destination the proxy refuses, not a broken server
    exchange.outcome.decision.action = filters::Action::block;
    exchange.outcome.decision.reason_code = failure.cause;
  }
  if (send_page) {
    co_await exchange.send_error(connection, stream, failure.status, failure.cause,
                                 failure.message);
  }
}

// `decide(policy)`'s decision, its time observed in hallpass_decision_duration_seconds.
template <typename Decide>
filters::Decision timed_decision(Connection& connection, Decide&& decide) {
  auto started = std::chrono::steady_clock::now();
  auto decision = decide(*connection.policy);
  connection.context.recorder.metrics().observe_decision(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return decision;
}

// Each returns whether the connection may carry another request.
awaitable<bool> handle_http(Connection& connection, RequestParser& parser, Exchange& exchange);
awaitable<void> handle_connect(Connection& connection, RequestParser& parser, Exchange& exchange);

// The next request head on the connection. False: the connection is over (closed by the
// client, draining, or a malformed head that was answered and recorded).
awaitable<bool> read_request(Connection& connection, RequestParser& parser, bool first);

// Behind a load balancer (`proxy_protocol.trusted`), the client is who the balancer's
// PROXY header says: read it, identify that client and apply `clients:` to it. False: the
// connection was refused (answered, recorded and counted) or dropped.
awaitable<bool> learn_client_from_balancer(Connection& connection,
                                           const filters::IpAddress& balancer);

std::chrono::steady_clock::duration to_duration(config::Seconds seconds);
http::HeadLimits head_limits(const config::Limits& limits);
// The first request of a connection gets timeouts.head from now; a later one may first
// wait timeouts.idle for its first byte.
http::HeadDeadlines head_deadlines(const Connection& connection, bool first);

}  // namespace hallpass::session
