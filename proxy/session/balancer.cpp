// Who the client is when a load balancer connected: the PROXY protocol header it sends
// first, believed only from `proxy_protocol.trusted` addresses.
#include <spdlog/spdlog.h>

#include "proxy/accept/proxy_protocol.hpp"
#include "proxy/session/connection.hpp"

namespace hallpass::session {

namespace {

constexpr http::Refusal kMissing{400, "proxy_protocol_missing",
                                 "The load balancer did not say whose connection this is."};
constexpr http::Refusal kInvalid{400, "proxy_protocol_invalid",
                                 "The load balancer's PROXY header is malformed."};

std::string_view buffered(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

awaitable<void> refuse(Connection& connection, const http::Refusal& refusal) {
  connection.context.recorder.metrics().connection_refused(refusal.reason_code);
  Exchange exchange(connection, "-");
  co_await exchange.refuse(connection, refusal);
  exchange.record(connection);
}

}  // namespace

awaitable<bool> learn_client_from_balancer(Connection& connection,
                                           const filters::IpAddress& balancer) {
  auto& context = connection.context;
  connection.client = connection.policy->identify(balancer);
  connection.client_text = balancer.to_string();
  connection.stream.expires_after(to_duration(context.config.timeouts.head));
  accept::ProxyHeader header;
  for (;;) {
    header = accept::parse_proxy_header(buffered(connection.buffer));
    if (header.status != accept::ProxyHeader::Status::need_more) {
      break;
    }
    auto space = accept::kMaxProxyHeaderBytes - connection.buffer.size();
    context.waiting.insert(&connection.stream);
    auto [ec, n] =
        co_await connection.stream.async_read_some(connection.buffer.prepare(space), use_tuple);
    context.waiting.erase(&connection.stream);
    if (ec) {  // the balancer gave up (or we drained) before a whole header
      co_return false;
    }
    connection.buffer.commit(n);
  }
  if (header.status != accept::ProxyHeader::Status::ok) {
    if (header.status == accept::ProxyHeader::Status::invalid) {
      spdlog::warn("balancer {}: {}", connection.client_text, header.error);
    }
    co_await refuse(connection,
                    header.status == accept::ProxyHeader::Status::absent ? kMissing : kInvalid);
    co_return false;
  }
  connection.buffer.consume(header.length);
  auto client = header.source.value_or(balancer);
  connection.client = connection.policy->identify(client);
  connection.client_text = client.to_string();
  if (!connection.policy->client_allowed(client)) {
    co_await refuse(connection, kClientNotAllowed);
    co_return false;
  }
  co_return true;
}

}  // namespace hallpass::session
