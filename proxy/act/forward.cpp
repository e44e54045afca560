#include "proxy/act/forward.hpp"
#include "proxy/act/upstream_link.hpp"

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

}  // namespace hallpass::act::detail

namespace hallpass::act {

awaitable<std::optional<UpstreamFailure>> PooledLink::open(bool fresh) {
  stream_.reset();
  reused_ = false;
  if (!fresh) {
    if (auto idle = pool_.take(key_)) {
      stream_.emplace(std::move(*idle));
      reused_ = true;
      co_return std::nullopt;
    }
  }
  auto connected = co_await connect_upstream(target_, config_.upstream, config_.timeouts.connect);
  if (!connected.stream) {
    co_return std::move(connected.failure);
  }
  stream_.emplace(std::move(*connected.stream));
  co_return std::nullopt;
}

}  // namespace hallpass::act
