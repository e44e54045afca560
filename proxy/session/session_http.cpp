// An absolute-form HTTP request: its URL names the target; the worker's pool supplies the
// upstream connection.
#include "proxy/act/upstream_link.hpp"
#include "proxy/session/serve_request.hpp"

namespace hallpass::session {

awaitable<bool> handle_http(Connection& connection, RequestParser& parser, Exchange& exchange) {
  auto& request = parser.get();
  auto parsed = http::parse_absolute_target(
      std::string_view(request.target().data(), request.target().size()));
  if (!parsed.target) {
    co_await exchange.refuse(connection, parsed.refusal);
    exchange.record(connection);
    co_return false;
  }
  act::PooledLink link(connection.context.pool, connection.context.config, *parsed.target);
  co_return co_await serve_request(connection, connection.stream, parser, exchange, *parsed.target,
                                   link);
}

}  // namespace hallpass::session
