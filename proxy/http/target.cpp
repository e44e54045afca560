#include "proxy/http/target.hpp"

#include <boost/url/parse.hpp>

#include <charconv>

#include "filters/host.hpp"

namespace hallpass::http {

namespace {

std::string authority_for(const std::string& host, std::uint16_t port, std::uint16_t default_port) {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != default_port) {
    out += ":" + std::to_string(port);
  }
  return out;
}

}  // namespace

TargetOutcome parse_absolute_target(std::string_view text) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) {
    return {std::nullopt, text.starts_with("/") ? kNotAbsolute : kBadHost};
  }
  const auto& url = *parsed;
  if (url.scheme_id() != boost::urls::scheme::http) {
    return {std::nullopt, kBadScheme};
  }
  auto host = filters::normalize_host(url.encoded_host());
  // Boost.URL 1.81 reads "a.test:80x/" as port 80 and path "x/", and wraps "a.test:99999"
  // to port 34463 (boostorg/url#636, #666): the port is checked from its text here.
  auto port_text = url.port();
  unsigned port = 0;
  auto [port_end, port_error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  bool bad_port = url.has_port() &&
                  (port_text.empty() || port_text.size() > 5 || port_error != std::errc{} ||
                   port_end != port_text.data() + port_text.size() || port == 0 || port > 65535);
  auto path = url.encoded_path();
  if (!host || bad_port || (!path.empty() && !path.starts_with('/'))) {
    return {std::nullopt, kBadHost};
  }
  Target target;
  target.host = std::move(*host);
  target.port = url.has_port() ? url.port_number() : 80;
  target.path = url.encoded_path().empty() ? "/" : std::string(url.encoded_path());
  if (url.has_query()) {
    target.path += "?";
    target.path += url.encoded_query();
  }
  target.authority = authority_for(target.host, target.port, 80);
  return {std::move(target), {}};
}

TargetOutcome parse_connect_target(std::string_view text) {
  auto split = filters::split_host_port(text);
  if (!split || split->port == 0) {
    return {std::nullopt, kBadHost};
  }
  auto host = filters::normalize_host(split->host);
  if (!host) {
    return {std::nullopt, kBadHost};
  }
  Target target;
  target.host = std::move(*host);
  target.port = split->port;
  target.authority = authority_for(target.host, target.port, 0);
  return {std::move(target), {}};
}

}  // namespace hallpass::http
