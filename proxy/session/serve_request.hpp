// One HTTP request on a decided target: the core that plain HTTP and intercepted TLS share.
// decide → block page, or enforcement headers → forward (with the redirect landing check)
// → record. `Stream` is the client's stream; `Link` gives the upstream connection.
#pragma once

#include "filters/body_decoder.hpp"
#include "proxy/act/content_inspection.hpp"
#include "proxy/act/forward.hpp"
#include "proxy/act/headers.hpp"
#include "proxy/act/respond.hpp"
#include "proxy/session/connection.hpp"
#include "proxy/session/local_time.hpp"

namespace hallpass::session {

inline std::string_view path_without_query(std::string_view path) {
  return path.substr(0, path.find('?'));
}

// The site answered with a redirect to a blocked place: the client gets the block page
// naming the landing site instead of the redirect.
template <typename Stream>
awaitable<void> block_redirect(Connection& connection, Stream& stream, Exchange& exchange,
                               const act::BlockedRedirect& redirect) {
  auto& outcome = exchange.outcome;
  outcome.decision = redirect.decision;
  outcome.redirect_to = redirect.landing;
  outcome.status = 403;
  auto html =
      act::block_page(exchange.page_context(connection), redirect.decision, redirect.landing);
  co_await act::write_page(stream, 403, std::move(html), false, exchange.version,
                           connection.idle());
}

// What the request carried decides now unless the URL already blocked; its flags are
// recorded either way.
inline void judge_content(record::Outcome& outcome, const filters::ContentVerdict& verdict) {
  outcome.decision = filters::Policy::with_content(outcome.decision, verdict);
  outcome.flags = verdict.flags;
  outcome.content_category = verdict.category;
  outcome.content_snippet = verdict.snippet;
  outcome.content_offset = verdict.offset;
  outcome.content_unjudged = verdict.unjudged;
}

// Returns whether the client connection may carry another request.
template <typename Stream, typename Link>
awaitable<bool> serve_request(Connection& connection, Stream& stream, RequestParser& parser,
                              Exchange& exchange, const http::Target& target, Link& link) {
  auto& context = connection.context;
  auto& request = parser.get();
  auto& outcome = exchange.outcome;
  outcome.host = target.host;
  outcome.port = target.port;
  outcome.path = path_without_query(target.path);

  auto header = [&](bhttp::field field) {
    auto value = request[field];
    return std::string_view(value.data(), value.size());
  };
  filters::Request asked{outcome.method,
                         target.host,
                         target.port,
                         target.path,
                         header(bhttp::field::content_type),
                         header(bhttp::field::accept),
                         local_time_now()};
  outcome.decision = timed_decision(connection, [&](const filters::Policy& policy) {
    return policy.decide(exchange.client, asked);
  });

  // Content: the query string now, the body as it is read (held first when the policy may
  // block on it). Nothing is allocated for requests with neither.
  std::optional<act::ContentInspection> content;
  bool body_scanned = !parser.is_done() && filters::BodyDecoder::kind_for(asked.content_type) !=
                                               filters::BodyDecoder::Kind::binary;
  if (!connection.policy->content_scanner().empty() &&
      (body_scanned || target.path.find('?') != std::string::npos)) {
    content.emplace(*connection.policy, exchange.client, asked.content_type,
                    header(bhttp::field::content_encoding), context.config.content_hold_bytes);
    content->scan_query(target.path);
    if (!body_scanned) {
      judge_content(outcome, content->finish());
    }
  }

  if (!parser.is_done()) {
    outcome.body = content && body_scanned ? record::Outcome::Body::scanned
                                           : record::Outcome::Body::not_scanned;
  }

  if (outcome.decision.action == filters::Action::block) {
    // A body we do not read would be taken for the next request: close instead.
    bool keep_alive = parser.is_done() && request.keep_alive() && !context.draining;
    outcome.status = 403;
    auto html = act::block_page(exchange.page_context(connection), outcome.decision, target.host);
    co_await act::write_page(stream, 403, std::move(html), keep_alive, exchange.version,
                             connection.idle());
    exchange.record(connection);
    co_return keep_alive;
  }

  // A WebSocket's text messages are judged one by one; each that flags gets its own line.
  std::optional<act::MessageInspection> websocket;
  if (act::is_websocket_upgrade(request)) {
    websocket.emplace(
        *connection.policy, exchange.client,
        [&](const filters::ContentVerdict& verdict, std::uint64_t message) {
          record::Outcome line = outcome;
          line.method = "WEBSOCKET";
          line.websocket_message = message;
          line.status = 101;
          judge_content(line, verdict);
          line.duration_seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - exchange.started)
                  .count();
          context.recorder.record(line);
        });
  }

  act::apply_enforcement(request, connection.policy->enforcement(exchange.client, target.host));
  auto lease = context.buffers.lease();
  auto half = lease.span().size() / 2;
  auto judge = [&](const http::Target& landing) -> std::optional<filters::Decision> {
    filters::Request where{"GET", landing.host, landing.port,    landing.path,
                           {},    {},           local_time_now()};
    auto decision = timed_decision(connection, [&](const filters::Policy& policy) {
      return policy.decide(exchange.client, where);
    });
    if (decision.action == filters::Action::block) {
      return decision;
    }
    return std::nullopt;
  };
  act::ForwardContext forward_context{context.config,
                                      lease.span().first(half),
                                      lease.span().subspan(half),
                                      context.draining,
                                      judge,
                                      content && body_scanned ? &*content : nullptr,
                                      websocket ? &*websocket : nullptr,
                                      context.config.content_hold_bytes,
                                      context.held_budget};
  auto result =
      co_await act::forward(stream, connection.buffer, parser, target, forward_context, link);
  outcome.bytes_from_client = result.bytes_from_client;
  outcome.bytes_to_client = result.bytes_to_client;
  outcome.status = result.status;
  if (result.websocket) {
    outcome.websocket_messages = result.websocket->messages;
    outcome.websocket_close = result.websocket->close_code;
  }
  if (content && body_scanned) {
    outcome.content_unjudged = content->unjudged();
    judge_content(outcome, content->finish());
  }
  if (result.content_blocked) {
    outcome.status = 403;
    auto html = act::block_page(exchange.page_context(connection), outcome.decision, target.host);
    co_await act::write_page(stream, 403, std::move(html), result.client_keep_alive,
                             exchange.version, connection.idle());
    exchange.record(connection);
    co_return result.client_keep_alive;
  }
  if (result.refusal && result.status == 0) {
    co_await exchange.refuse(connection, stream, *result.refusal);
    exchange.record(connection);
    co_return false;
  }
  if (result.redirect) {
    co_await block_redirect(connection, stream, exchange, *result.redirect);
    exchange.record(connection);
    co_return false;
  }
  if (result.failure) {
    co_await report_upstream_failure(connection, stream, exchange, *result.failure,
                                     result.status == 0);
    exchange.record(connection);
    co_return false;
  }
  exchange.record(connection);
  co_return result.client_keep_alive;
}

}  // namespace hallpass::session
