// Verified TLS to the servers behind intercepted tunnels: the system trust store plus
// `upstream.ca_file`, the host name checked, TLS 1.2 or later, ALPN http/1.1 only. A server
// that fails verification is refused with the reason in plain words: never a silent
// pass-through, never a downgrade.
#pragma once

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "proxy/act/upstream.hpp"

namespace hallpass::tls {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One client context for the process (SSL_new on a configured context is thread-safe), or
// an error naming `upstream.ca_file`.
std::variant<std::shared_ptr<asio::ssl::context>, std::string> make_upstream_context(
    const config::Upstream& settings);

// The upstream link of one intercepted client connection: the TCP connection made for the
// CONNECT, wrapped in TLS on first use and kept across that client's requests.
class TlsLink {
 public:
  TlsLink(asio::ssl::context& context, const config::Config& config, http::Target target,
          std::optional<beast::tcp_stream> connected)
      : context_(context),
        config_(config),
        target_(std::move(target)),
        connected_(std::move(connected)) {}

  awaitable<std::optional<act::UpstreamFailure>> open(bool fresh);
  TlsStream& stream() { return *stream_; }
  bool reused() const { return reused_; }
  void keep() { reusable_ = true; }

 private:
  awaitable<std::optional<act::UpstreamFailure>> handshake(beast::tcp_stream tcp);

  asio::ssl::context& context_;
  const config::Config& config_;
  http::Target target_;
  std::optional<beast::tcp_stream> connected_;  // made for the CONNECT, not yet used
  std::optional<TlsStream> stream_;
  bool reused_ = false;
  bool reusable_ = false;
};

}  // namespace hallpass::tls
