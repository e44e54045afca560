// The only place that sequences the stages: read → identify → decide → act → record.
#include <algorithm>
#include <cstdio>

#include "proxy/accept/address.hpp"
#include "proxy/accept/proxy_protocol.hpp"
#include "proxy/act/respond.hpp"
#include "proxy/http/read_head.hpp"
#include "proxy/record/json.hpp"
#include "proxy/session/auth.hpp"
#include "proxy/session/connection.hpp"
#include "proxy/session/tear_down.hpp"

namespace hallpass::session {

std::chrono::steady_clock::duration to_duration(config::Seconds seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(seconds);
}

http::HeadLimits head_limits(const config::Limits& limits) {
  return {limits.max_head_bytes, limits.max_header_count, limits.max_line_bytes};
}

namespace {

enum class UserVerdict { identified, refused_keep_alive, refused_close };

constexpr http::Refusal kUntrustedProxyHeader{
    400, "proxy_protocol_untrusted",
    "PROXY protocol headers are accepted only from the district's load balancers."};

}  // namespace

std::chrono::steady_clock::duration Connection::idle() const {
  return to_duration(context.config.timeouts.idle);
}

http::HeadDeadlines head_deadlines(const Connection& connection, bool first) {
  auto head = to_duration(connection.context.config.timeouts.head);
  if (first) {
    return {std::nullopt, head};
  }
  return {connection.idle(), head};
}

bool Connection::follow_reload() {
  if (policy == context.policy) {
    return true;
  }
  policy = context.policy;
  auto address = client.address;
  client = policy->identify(address);
  return policy->client_allowed(address);
}

Exchange::Exchange(Connection& connection, std::string_view method)
    : client(connection.client), started(std::chrono::steady_clock::now()) {
  auto& context = connection.context;
  std::snprintf(request_id, sizeof request_id, "%08x-%02x-%08llx", context.id_prefix,
                context.worker, static_cast<unsigned long long>(++context.requests));
  outcome.request_id = request_id;
  outcome.time = std::chrono::system_clock::now();
  outcome.client = connection.client_text;
  outcome.method = method;
  outcome.mode = connection.mode;
  outcome.decision.building = connection.policy->building_name(connection.client.building);
  outcome.decision.role = connection.client.role;
  outcome.decision.reason_code = "bad_request";
}

act::PageContext Exchange::page_context(const Connection& connection) const {
  const auto& config = connection.context.config;
  if (time_text.empty()) {
    time_text = record::iso_utc(outcome.time);
  }
  return {config.district_name, config.district_contact, request_id, time_text};
}

void Exchange::record(Connection& connection) {
  outcome.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  connection.context.recorder.record(outcome);
}

namespace {

// Proxy authentication, when configured: a valid user lends the exchange their role; missing
// (when required) or wrong credentials get 407 with the challenge, and are recorded.
awaitable<UserVerdict> identify_user(Connection& connection, RequestParser& parser,
                                     Exchange& exchange) {
  const auto& auth = connection.policy->auth();
  auto header = parser.get()[bhttp::field::proxy_authorization];
  auto result = authenticate(*connection.policy, std::string_view(header.data(), header.size()));
  if (result.kind == AuthOutcome::valid) {
    exchange.client.role = result.user->role;
    exchange.outcome.decision.role = result.user->role;
    exchange.outcome.user = result.user->name;
    co_return UserVerdict::identified;
  }
  if (result.kind == AuthOutcome::none && !auth.required) {
    co_return UserVerdict::identified;
  }
  auto& outcome = exchange.outcome;
  outcome.decision.action = filters::Action::block;
  outcome.decision.reason_code =
      result.kind == AuthOutcome::invalid ? "auth_failed" : "auth_required";
  outcome.status = 407;
  // The client retries on the same connection with credentials, unless a body is unread.
  bool keep_alive = parser.is_done() && parser.get().keep_alive() && !connection.context.draining;
  auto response = act::page_response(
      407,
      act::error_page(exchange.page_context(connection), 407, outcome.decision.reason_code,
                      "This network asks for your district user name and password."),
      keep_alive, exchange.version);
  response.set(bhttp::field::proxy_authenticate,
               "Basic realm=\"" + auth.realm + "\", charset=\"UTF-8\"");
  connection.stream.expires_after(connection.idle());
  co_await bhttp::async_write(connection.stream, response, use_tuple);
  exchange.record(connection);
  co_return keep_alive ? UserVerdict::refused_keep_alive : UserVerdict::refused_close;
}

}  // namespace

awaitable<bool> read_request(Connection& connection, RequestParser& parser, bool first) {
  auto& context = connection.context;
  if (context.draining) {
    co_return false;
  }
  context.waiting.insert(&connection.stream);
  auto head = co_await http::read_head(connection.stream, connection.buffer, parser,
                                       head_limits(context.config.limits),
                                       head_deadlines(connection, first));
  context.waiting.erase(&connection.stream);
  if (head.kind == http::HeadOutcome::closed) {
    co_return false;
  }
  if (head.kind == http::HeadOutcome::refused) {
    auto refusal = head.refusal;
    // A PROXY header from a client, not a trusted balancer: someone choosing an address.
    std::string_view start(static_cast<const char*>(connection.buffer.data().data()),
                           std::min<std::size_t>(connection.buffer.size(), 12));
    if (first && start.size() >= 6 && accept::looks_like_proxy_header(start)) {
      refusal = kUntrustedProxyHeader;
      context.recorder.metrics().connection_refused(refusal.reason_code);
    }
    Exchange exchange(connection, "-");
    co_await exchange.refuse(connection, refusal);
    exchange.record(connection);
    co_return false;
  }
  co_return true;
}

awaitable<void> serve_connection(tcp::socket socket, SessionContext& context,
                                 [[maybe_unused]] ConnectionSlot slot) {
  error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) {
    co_return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  Connection connection{context, context.policy, {}, {}, beast::tcp_stream(std::move(socket)), {}};
  connection.buffer.max_size(client_buffer_limit(context.config.limits));
  auto address = accept::to_ip_address(peer);
  if (accept::is_trusted_balancer(context.config.proxy_protocol_trusted, address)) {
    if (!co_await learn_client_from_balancer(connection, address)) {
      co_return;
    }
  } else {
    connection.client = connection.policy->identify(address);
    connection.client_text = address.to_string();
  }

  for (bool first = true;; first = false) {
    RequestParser parser;
    if (!co_await read_request(connection, parser, first)) {
      co_return;
    }
    bool allowed = connection.follow_reload();
    auto method = parser.get().method_string();
    Exchange exchange(connection, std::string_view(method.data(), method.size()));
    exchange.version = parser.get().version();
    if (!allowed) {
      co_await exchange.refuse(connection, kClientNotAllowed);
      exchange.record(connection);
      co_return;
    }
    if (connection.policy->auth().enabled) {
      auto verdict = co_await identify_user(connection, parser, exchange);
      if (verdict == UserVerdict::refused_keep_alive) {
        continue;
      }
      if (verdict == UserVerdict::refused_close) {
        co_return;
      }
    }
    if (parser.get().method() == bhttp::verb::connect) {
      co_await handle_connect(connection, parser, exchange);
      co_return;
    }
    if (!co_await handle_http(connection, parser, exchange)) {
      if (!parser.is_done()) {
        co_await tear_down(connection.stream);
      }
      co_return;
    }
  }
}

}  // namespace hallpass::session
