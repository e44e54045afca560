// The district's minting CA and the per-host leaf certificates it signs for intercepted TLS.
// Each leaf has its own key (unlike mitmproxy, which reuses the CA's), lives 30 days at most,
// and is served with the CA chain so that clients trusting only the root still build the path.
#pragma once

#include <boost/asio/ssl.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "proxy/tls/openssl_handles.hpp"

namespace hallpass::tls {

// Immutable once minted; shared by every connection to that host.
struct Leaf {
  Leaf(boost::asio::ssl::context ctx, std::chrono::system_clock::time_point expiry)
      : context(std::move(ctx)), not_after(expiry) {}

  // Server-side context holding the leaf certificate, its key and the CA chain. `mutable`
  // because asio::ssl::stream takes a context& although it only calls SSL_new() on it, which
  // is safe from many threads on a context nobody reconfigures.
  mutable boost::asio::ssl::context context;
  std::chrono::system_clock::time_point not_after;
};

class CertAuthority {
 public:
  // `ca_cert_path`: PEM with the minting CA certificate first, then optionally its issuers up
  // to the root (all sent as the chain). `key_path`: the minting CA's unencrypted PEM key,
  // which must not be readable or writable by group or others. The error names the file and
  // says what is wrong.
  static std::variant<std::shared_ptr<const CertAuthority>, std::string> load(
      const std::string& ca_cert_path, const std::string& key_path);

  // A fresh leaf for `host` (lower-case DNS name, or an IPv4/IPv6 literal). nullptr only when
  // OpenSSL fails; nothing is logged here and the error queue is cleared, the caller counts it.
  std::shared_ptr<const Leaf> mint(std::string_view host) const;

  // One-line subject of the minting CA, for logs.
  const std::string& subject() const { return subject_; }

 private:
  CertAuthority() = default;

  X509Ptr make_certificate(std::string_view host, EVP_PKEY* leaf_key,
                           std::chrono::system_clock::time_point not_before,
                           std::chrono::system_clock::time_point not_after) const;
  SslCtxPtr make_context(X509* leaf, EVP_PKEY* leaf_key) const;

  std::vector<X509Ptr> chain_;  // chain_[0] is the minting CA
  EvpPkeyPtr key_;
  Asn1OctetStringPtr key_id_;  // the CA's key identifier, copied into each leaf's AKI
  std::chrono::system_clock::time_point not_after_;
  std::string subject_;
};

}  // namespace hallpass::tls
