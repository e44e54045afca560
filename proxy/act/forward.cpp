#include "proxy/act/forward.hpp"

namespace hallpass::act::detail {

std::chrono::steady_clock::duration to_duration(config::Seconds seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(seconds);
}

std::optional<http::Target> redirect_landing(const bhttp::response<bhttp::buffer_body>& response,
                                             const http::Target& request_target) {
  auto status = response.result_int();
  if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
    return std::nullopt;
  }
  auto field = response[bhttp::field::location];
  std::string location(field.data(), field.size());
  if (location.starts_with("//")) {
    location = "http:" + location;
  } else if (location.starts_with("/")) {
    location = "http://" + request_target.authority + location;
  }
  bool https = location.size() > 8 && beast::iequals(location.substr(0, 8), "https://");
  if (https) {
    location = "http://" + location.substr(8);
  }
  auto parsed = http::parse_absolute_target(location);
  if (!parsed.target) {
    return std::nullopt;
  }
  if (https && parsed.target->authority.find(':') == std::string::npos) {
    parsed.target->port = 443;
  }
  return parsed.target;
}

awaitable<std::optional<UpstreamFailure>> open_upstream(Exchange& exchange,
                                                        const http::Target& target,
                                                        ForwardContext& context, bool fresh) {
  exchange.buffer.clear();
  exchange.upstream.reset();
  exchange.reused = false;
  if (!fresh) {
    if (auto idle = context.pool.take(exchange.pool_key)) {
      exchange.upstream.emplace(std::move(*idle));
      exchange.reused = true;
    }
  }
  if (!exchange.upstream) {
    auto connected =
        co_await connect_upstream(target, context.config.upstream, context.config.timeouts.connect);
    if (!connected.stream) {
      co_return std::move(connected.failure);
    }
    exchange.upstream.emplace(std::move(*connected.stream));
  }
  co_return std::nullopt;
}

}  // namespace hallpass::act::detail
