// Minted leaves by host, shared by every worker: one mint per host at a time, the least
// recently used evicted past the capacity, leaves close to expiry minted again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "proxy/tls/cert_authority.hpp"

namespace hallpass::tls {

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
