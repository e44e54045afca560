#include "proxy/tls/handshake_failure.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/error.hpp>
#include <string>

namespace hallpass::tls {

std::string_view handshake_failure_reason(const error_code& ec) {
  if (ec == beast::error::timeout) {
    return "client_handshake_timeout";
  }
  if (ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::ssl::error::stream_truncated) {
    return "client_closed";
  }
  if (ec.category() == asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
      case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
        return "client_rejected_certificate";
      default:
        break;
    }
  }
  return "client_handshake_failed";
}

std::string handshake_failure_text(std::string_view reason) {
  if (reason == "client_rejected_certificate") {
    return "the client does not trust the district certificate (the district CA is not "
           "installed, or the app pins its own certificate)";
  }
  if (reason == "client_closed") {
    return "the client closed the connection during the handshake (often an app that pins "
           "its certificate)";
  }
  if (reason == "client_handshake_timeout") {
    return "the client did not finish the handshake in time";
  }
  return "the TLS handshake with the client failed";
}

}  // namespace hallpass::tls
