// Session internals: one client connection and the request in progress on it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "proxy/act/pages.hpp"
#include "proxy/act/upstream.hpp"
#include "proxy/http/prescan.hpp"
#include "proxy/record/outcome.hpp"
#include "proxy/session/context.hpp"

namespace hallpass::session {

struct Connection {
  SessionContext& context;
  std::shared_ptr<const filters::Policy> policy;  // pinned for the connection's lifetime
  filters::Client client;
  std::string client_text;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;

  std::chrono::steady_clock::duration idle() const;
};

// One request from head to record.
struct Exchange {
  Exchange(Connection& connection, std::string_view method);

  act::PageContext page_context(const Connection& connection) const;
  // Sends a Hallpass error page and closes; the outcome takes its status.
  awaitable<void> send_error(Connection& connection, unsigned status, std::string_view reason,
                             std::string_view message);
  // The proxy itself refuses the request (malformed, port, ...): recorded as a block.
  awaitable<void> refuse(Connection& connection, const http::Refusal& refusal);
  void record(Connection& connection);

  filters::Client client;  // the connection's, with the role of an authenticated user
  char request_id[24];
  mutable std::string time_text;  // formatted on first use: only pages show it
  std::chrono::steady_clock::time_point started;
  record::Outcome outcome;
  unsigned version = 11;
};

awaitable<void> report_upstream_failure(Connection& connection, Exchange& exchange,
                                        const act::UpstreamFailure& failure, bool send_page);

// Each returns whether the connection may carry another request.
awaitable<bool> handle_http(Connection& connection, RequestParser& parser, Exchange& exchange);
awaitable<void> handle_connect(Connection& connection, RequestParser& parser, Exchange& exchange);

}  // namespace hallpass::session
