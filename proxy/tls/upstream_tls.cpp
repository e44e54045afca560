#include "proxy/tls/upstream_tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "filters/ip_address.hpp"
#include "proxy/tls/openssl_handles.hpp"

namespace hallpass::tls {

namespace {

std::chrono::steady_clock::duration to_duration(config::Seconds seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(seconds);
}

}  // namespace

std::variant<std::shared_ptr<asio::ssl::context>, std::string> make_upstream_context(
    const config::Upstream& settings) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  context->set_options(asio::ssl::context::no_compression | SSL_OP_NO_RENEGOTIATION);
  context->set_verify_mode(asio::ssl::verify_peer);
  error_code ec;
  context->set_default_verify_paths(ec);
  if (ec) {
    return "cannot load the system trust store: " + openssl_error_text();
  }
  if (!settings.ca_file.empty()) {
    context->load_verify_file(settings.ca_file, ec);
    if (ec) {
      return settings.ca_file + " (upstream.ca_file): cannot load trust anchors: " +
             (openssl_error_text().empty() ? ec.message() : openssl_error_text());
    }
  }
  // HTTP/1.1 only: the relay inside the tunnel speaks nothing else (RFC 7301 wire format).
  static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(native, kAlpn, sizeof kAlpn);
  return context;
}

awaitable<std::optional<act::UpstreamFailure>> TlsLink::open(bool fresh) {
  reused_ = false;
  if (!fresh && stream_ && reusable_) {
    reusable_ = false;
    reused_ = true;
    co_return std::nullopt;
  }
  reusable_ = false;
  stream_.reset();
  if (connected_) {
    auto tcp = std::move(*connected_);
    connected_.reset();
    co_return co_await handshake(std::move(tcp));
  }
  auto connected =
      co_await act::connect_upstream(target_, config_.upstream, config_.timeouts.connect);
  if (!connected.stream) {
    co_return std::move(connected.failure);
  }
  co_return co_await handshake(std::move(*connected.stream));
}

awaitable<std::optional<act::UpstreamFailure>> TlsLink::handshake(beast::tcp_stream tcp) {
  stream_.emplace(std::move(tcp), context_);
  SSL* ssl = stream_->native_handle();
  // OpenSSL's own name check, so a mismatch is reported as X509_V_ERR_HOSTNAME_MISMATCH
  // like any other verification error. RFC 6066 §3: no server name for an IP literal.
  if (filters::IpAddress::parse(target_.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, target_.host.c_str());
    SSL_set1_host(ssl, target_.host.c_str());
  }
  beast::get_lowest_layer(*stream_).expires_after(to_duration(config_.timeouts.connect));
  auto [ec] = co_await stream_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (!ec) {
    co_return std::nullopt;
  }
  auto verify = SSL_get_verify_result(ssl);
  stream_.reset();
  openssl_error_text();  // leave no stale error behind for the next handshake
  if (verify != X509_V_OK) {
    co_return act::UpstreamFailure{403, "upstream_certificate",
                                   "The server " + target_.host +
                                       " presented a certificate that cannot be trusted (" +
                                       X509_verify_cert_error_string(verify) +
                                       "), so the connection was stopped. Nothing was sent to it."};
  }
  if (ec == beast::error::timeout) {
    co_return act::UpstreamFailure{
        504, "upstream_tls_timeout",
        "The server " + target_.host + " did not complete a secure connection in time."};
  }
  co_return act::UpstreamFailure{
      502, "upstream_tls",
      "A secure connection to " + target_.host + " could not be made (" + ec.message() + ")."};
}

}  // namespace hallpass::tls
