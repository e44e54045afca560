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

// Resolves `target` (override map first, then DNS) and connects within `timeout`.
awaitable<Connected> connect_upstream(const http::Target& target, const config::Upstream& settings,
                                      config::Seconds timeout);

}  // namespace hallpass::act
