// What interception needs across workers: the leaf cache (null without a district CA), the
// verified client context for upstream servers, and the (client, host) pairs where the client
// refused our certificate under a policy that says to splice from then on.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "filters/ip_address.hpp"
#include "proxy/tls/leaf_cache.hpp"
#include "proxy/tls/upstream_tls.hpp"

namespace hallpass::tls {

// Per client, not per host: anyone can make a handshake fail on purpose, and a failure
// that spliced the host for every client would turn off inspection (and the DM rules that
// need it) district-wide. Bounded: past `capacity` the set starts over rather than grow
// without end (a pair forgotten this way is tried once more and remembered again).
class PinnedHosts {
 public:
  explicit PinnedHosts(std::size_t capacity = 16384) : capacity_(capacity) {}
  void add(const filters::IpAddress& client, std::string_view host) {
    std::lock_guard lock(mutex_);
    if (hosts_.size() >= capacity_) {
      hosts_.clear();
    }
    hosts_.emplace(key(client, host));
  }
  bool contains(const filters::IpAddress& client, std::string_view host) const {
    std::lock_guard lock(mutex_);
    return hosts_.contains(key(client, host));
  }

 private:
  static std::string key(const filters::IpAddress& client, std::string_view host) {
    std::string joined(reinterpret_cast<const char*>(client.bytes.data()), client.bytes.size());
    joined += host;
    return joined;
  }
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_set<std::string> hosts_;
};

struct Services {
  std::shared_ptr<LeafCache> leaves;  // null: no district CA, nothing is decrypted
  std::shared_ptr<asio::ssl::context> upstream;
  PinnedHosts pinned;
};

}  // namespace hallpass::tls
