// Where forward() gets its upstream connection for one request. A link opens a connection
// (or reuses one), lends its stream, and is told to keep it when the response ended
// cleanly. Plain HTTP uses the worker's pool; intercepted TLS keeps its own verified
// connection for the life of the client's connection (proxy/tls/upstream_tls.hpp).
#pragma once

#include <optional>
#include <string>

#include "proxy/act/upstream.hpp"

namespace hallpass::act {

class PooledLink {
 public:
  PooledLink(UpstreamPool& pool, const config::Config& config, const http::Target& target)
      : pool_(pool),
        config_(config),
        target_(target),
        key_(target.host + ":" + std::to_string(target.port)) {}
  // Transparent mode: always the address the client was going to, whatever the Host says.
  PooledLink(UpstreamPool& pool, const config::Config& config, const http::Target& target,
             const tcp::endpoint& pinned)
      : pool_(pool),
        config_(config),
        target_(target),
        key_(endpoint_key(pinned)),
        pinned_(pinned) {}

  // Takes an idle pooled connection unless `fresh`, else connects.
  awaitable<std::optional<UpstreamFailure>> open(bool fresh);
  beast::tcp_stream& stream() { return *stream_; }
  bool reused() const { return reused_; }
  // The response ended cleanly: the connection goes back to the pool.
  void keep() { pool_.give(key_, std::move(*stream_)); }

 private:
  UpstreamPool& pool_;
  const config::Config& config_;
  const http::Target& target_;
  std::string key_;  // "host:port"
  static std::string endpoint_key(const tcp::endpoint& endpoint);
  awaitable<Connected> connect();

  std::optional<beast::tcp_stream> stream_;
  bool reused_ = false;
  std::optional<tcp::endpoint> pinned_;
};

}  // namespace hallpass::act
