// The district's minting CA and the per-host leaf certificates it signs for intercepted TLS.
// Each leaf has its own key (unlike mitmproxy, which reuses the CA's), lives 30 days at most,
// and is served with the CA chain so that clients trusting only the root still build the path.
#pragma once

#include <boost/asio/ssl.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
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

// Leaves by host, least recently used evicted past `capacity`. Thread-safe.
class LeafCache {
 public:
  LeafCache(std::shared_ptr<const CertAuthority> authority, std::size_t capacity);

  // The cached leaf unless it is within a day of its not_after, else a new one. Concurrent
  // calls for the same host mint once; the others wait for it (about a millisecond) and all
  // get the same pointer. nullptr when minting failed; the next call tries again.
  std::shared_ptr<const Leaf> get(std::string_view host);

  struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::size_t size = 0;
  };
  Stats stats() const;

 private:
  using Pending = std::shared_future<std::shared_ptr<const Leaf>>;
  struct Entry {
    Pending leaf;
    std::uint64_t ticket = 0;  // tells a failed mint whether the entry is still its own
    std::list<std::string>::iterator recency;
  };

  std::shared_ptr<const Leaf> mint_into(const std::string& host, std::uint64_t ticket,
                                        std::promise<std::shared_ptr<const Leaf>>& promise);
  void install(const std::string& host, Pending leaf, std::uint64_t ticket);
  void forget(const std::string& host, std::uint64_t ticket);

  std::shared_ptr<const CertAuthority> authority_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> recency_;  // most recently used first
  std::uint64_t next_ticket_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

}  // namespace hallpass::tls
