#include "proxy/act/forward.hpp"

#include <boost/beast/http/rfc7230.hpp>

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

std::string PooledLink::endpoint_key(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  auto text = address.to_string();
  return (address.is_v6() ? "[" + text + "]" : text) + ":" + std::to_string(endpoint.port());
}

awaitable<Connected> PooledLink::connect() {
  if (pinned_) {
    std::vector<tcp::endpoint> endpoints{*pinned_};
    co_return co_await connect_endpoints(endpoints, target_, config_.timeouts.connect);
  }
  co_return co_await connect_upstream(target_, config_.upstream, config_.timeouts.connect);
}

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
  auto connected = co_await connect();
  if (!connected.stream) {
    co_return std::move(connected.failure);
  }
  stream_.emplace(std::move(*connected.stream));
  co_return std::nullopt;
}

}  // namespace hallpass::act

namespace hallpass::act {

namespace {

bool lists_token(const bhttp::fields& fields, bhttp::field name, std::string_view token) {
  for (auto it = fields.find(name); it != fields.end() && it->name() == name; ++it) {
    for (auto item : bhttp::token_list(it->value())) {
      if (beast::iequals(item, token)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

bool is_websocket_upgrade(const bhttp::request<bhttp::buffer_body>& request) {
  return request.method() == bhttp::verb::get && request.version() == 11 &&
         lists_token(request, bhttp::field::connection, "upgrade") &&
         lists_token(request, bhttp::field::upgrade, "websocket");
}

void prepare_websocket_request(bhttp::request<bhttp::buffer_body>& request,
                               std::string_view client_extensions) {
  request.set(bhttp::field::connection, "Upgrade");
  request.set(bhttp::field::upgrade, "websocket");
  auto offer = websocket::offer_we_can_scan(client_extensions);
  if (offer.empty()) {
    request.erase(bhttp::field::sec_websocket_extensions);
  } else {
    request.set(bhttp::field::sec_websocket_extensions, offer);
  }
}

void prepare_websocket_response(bhttp::response<bhttp::buffer_body>& response) {
  strip_hop_by_hop(response);
  response.set(bhttp::field::connection, "Upgrade");
  response.set(bhttp::field::upgrade, "websocket");
  response.insert(bhttp::field::via, kVia);
}

}  // namespace hallpass::act
