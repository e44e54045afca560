#include "filters/host.hpp"
#include "filters/ip_address.hpp"
#include "proxy/act/destination_guard.hpp"
#include "proxy/act/upstream.hpp"

namespace hallpass::act {

namespace {

// "ip" or "ip:port" (IPv6 bracketed) from the resolve map; the request's port is kept
// when the entry names none.
std::optional<tcp::endpoint> parse_mapped(std::string_view value, std::uint16_t port) {
  std::string_view host = value;
  if (auto split = filters::split_host_port(value)) {
    host = split->host;
    if (split->port != 0) {
      port = split->port;
    }
  }
  error_code ec;
  if (host.size() > 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  auto address = asio::ip::make_address(std::string(host), ec);
  if (ec) {
    return std::nullopt;
  }
  return tcp::endpoint(address, port);
}

const std::string* find_override(const config::Upstream& settings, const http::Target& target) {
  auto with_port = target.host + ":" + std::to_string(target.port);
  if (auto it = settings.resolve.find(with_port); it != settings.resolve.end()) {
    return &it->second;
  }
  if (auto it = settings.resolve.find(target.host); it != settings.resolve.end()) {
    return &it->second;
  }
  return nullptr;
}

UpstreamFailure failure(unsigned status, std::string_view cause, std::string message) {
  return {status, cause, std::move(message)};
}

}  // namespace

awaitable<Resolved> resolve_upstream(const http::Target& target, const config::Upstream& settings) {
  Resolved resolved;
  if (const auto* mapped = find_override(settings, target)) {
    auto endpoint = parse_mapped(*mapped, target.port);
    if (!endpoint) {
      resolved.failure = failure(502, "upstream_resolve_map",
                                 "upstream.resolve maps " + target.host + " to \"" + *mapped +
                                     "\", which is not an IP address.");
      co_return resolved;
    }
    resolved.endpoints.push_back(*endpoint);
    resolved.mapped = true;
  } else if (auto literal = filters::IpAddress::parse(target.host)) {
    resolved.endpoints.emplace_back(asio::ip::make_address(target.host), target.port);
  } else if (!settings.dns) {
    resolved.failure = failure(
        502, "upstream_dns",
        "DNS is off (upstream.dns: false) and " + target.host + " has no upstream.resolve entry.");
    co_return resolved;
  } else {
    tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [ec, results] =
        co_await resolver.async_resolve(target.host, std::to_string(target.port), use_tuple);
    if (ec || results.empty()) {
      resolved.failure =
          failure(502, "upstream_dns",
                  "The name " + target.host + " could not be resolved: " + ec.message());
      co_return resolved;
    }
    for (const auto& entry : results) {
      resolved.endpoints.push_back(entry.endpoint());
    }
  }
  co_return resolved;
}

awaitable<Connected> connect_upstream(const http::Target& target, const config::Upstream& settings,
                                      config::Seconds timeout) {
  auto resolved = co_await resolve_upstream(target, settings);
  if (resolved.failure) {
    co_return Connected{{}, std::move(*resolved.failure)};
  }
  if (!resolved.mapped) {
    // Checked after resolution: a name that resolves to the gateway is the gateway. An
    // explicit `upstream.resolve` entry is the operator's own choice and is not checked.
    for (const auto& endpoint : resolved.endpoints) {
      if (auto reason = refused_destination(endpoint.address(), settings.allow_loopback)) {
        co_return Connected{
            {},
            failure(403, *reason,
                    "The proxy does not connect to its own machine or to link-local addresses (" +
                        target.host + ").")};
      }
    }
  }
  co_return co_await connect_endpoints(resolved.endpoints, target, timeout);
}

awaitable<Connected> connect_endpoints(const std::vector<tcp::endpoint>& endpoints,
                                       const http::Target& target, config::Seconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  stream.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout));
  auto [ec, endpoint] = co_await stream.async_connect(endpoints, use_tuple);
  if (ec == beast::error::timeout) {
    co_return Connected{{},
                        failure(504, "upstream_connect_timeout",
                                "The server " + target.authority + " did not answer in time.")};
  }
  if (ec == asio::error::connection_refused) {
    co_return Connected{{},
                        failure(502, "upstream_refused",
                                "The server " + target.authority + " refused the connection.")};
  }
  if (ec) {
    co_return Connected{{},
                        failure(502, "upstream_connect_failed",
                                "Could not connect to " + target.authority + ": " + ec.message())};
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  co_return Connected{std::move(stream), {}, false};
}

}  // namespace hallpass::act
