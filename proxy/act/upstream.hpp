// Reaching upstream servers: the resolve override map, DNS, connect with a deadline, and
// a per-worker pool of idle keep-alive connections (one pool per io_context thread, so it
// needs no lock).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/config/config.hpp"
#include "proxy/http/beast.hpp"
#include "proxy/http/target.hpp"

namespace hallpass::act {

struct UpstreamFailure {
  unsigned status = 502;   // 502 or 504 (403 for a refused destination)
  std::string_view cause;  // bounded code: "dns", "refused", "connect_timeout", ...
  std::string message;     // plain words naming the host
};

struct Connected {
  std::optional<beast::tcp_stream> stream;
  UpstreamFailure failure;
  bool reused = false;
};

class UpstreamPool {
 public:
  explicit UpstreamPool(const config::Upstream& settings) : settings_(settings) {}

  // A live idle connection to `key` ("host:port"), or nullopt.
  std::optional<tcp::socket> take(const std::string& key);
  void give(const std::string& key, beast::tcp_stream stream);
  void clear() { idle_.clear(); }

 private:
  struct Idle {
    tcp::socket socket;
    std::chrono::steady_clock::time_point since;
  };
  void sweep(std::chrono::steady_clock::time_point now);

  const config::Upstream& settings_;
  std::unordered_map<std::string, std::vector<Idle>> idle_;
  std::chrono::steady_clock::time_point last_sweep_ = std::chrono::steady_clock::now();
};

struct Resolved {
  std::vector<tcp::endpoint> endpoints;
  std::optional<UpstreamFailure> failure;
  bool mapped = false;  // from the upstream.resolve map
};
// Where `target` lives: the override map first, then an IP literal, then DNS.
awaitable<Resolved> resolve_upstream(const http::Target& target, const config::Upstream& settings);

// Resolves `target` and connects within `timeout`; loopback and unspecified addresses are
// refused unless mapped or allowed.
awaitable<Connected> connect_upstream(const http::Target& target, const config::Upstream& settings,
                                      config::Seconds timeout);

// Connects to the first of `endpoints` that answers; failures name `target`.
awaitable<Connected> connect_endpoints(const std::vector<tcp::endpoint>& endpoints,
                                       const http::Target& target, config::Seconds timeout);

}  // namespace hallpass::act
