// What interception needs across workers: the leaf cache (null without a district CA), the
// verified client context for upstream servers, and the hosts whose clients refused our
// certificate when the policy says to splice those from then on.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "proxy/tls/leaf_cache.hpp"
#include "proxy/tls/upstream_tls.hpp"

namespace hallpass::tls {

// Bounded: past `capacity` the set starts over rather than grow without end (a host
// forgotten this way is tried once more and remembered again).
class PinnedHosts {
 public:
  explicit PinnedHosts(std::size_t capacity = 4096) : capacity_(capacity) {}
  void add(std::string_view host) {
    std::lock_guard lock(mutex_);
    if (hosts_.size() >= capacity_) {
      hosts_.clear();
    }
    hosts_.emplace(host);
  }
  bool contains(std::string_view host) const {
    std::lock_guard lock(mutex_);
    return hosts_.contains(std::string(host));
  }

 private:
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
