#include "proxy/tls/leaf_cache.hpp"

#include <algorithm>
#include <chrono>

namespace hallpass::tls {

namespace {

using Clock = std::chrono::system_clock;

// Renewed a day early so that no connection is handed a leaf about to expire.
constexpr auto kRenewBefore = std::chrono::days(1);

}  // namespace

LeafCache::LeafCache(std::shared_ptr<const CertAuthority> authority, std::size_t capacity)
    : authority_(std::move(authority)), capacity_(std::max<std::size_t>(capacity, 1)) {}

std::shared_ptr<const Leaf> LeafCache::get(std::string_view host) {
  std::string key(host);
  std::promise<std::shared_ptr<const Leaf>> promise;
  std::uint64_t ticket = 0;
  Pending waiting;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    // A mint still in flight counts as a hit: the caller waits for it instead of minting.
    bool usable = false;
    if (it != entries_.end()) {
      const Pending& leaf = it->second.leaf;
      usable = leaf.wait_for(std::chrono::seconds(0)) != std::future_status::ready ||
               (leaf.get() && leaf.get()->not_after - Clock::now() > kRenewBefore);
    }
    if (usable) {
      ++hits_;
      recency_.splice(recency_.begin(), recency_, it->second.recency);
      waiting = it->second.leaf;
    } else {
      ++misses_;
      ticket = ++next_ticket_;
      install(key, promise.get_future().share(), ticket);
    }
  }
  if (waiting.valid()) {
    return waiting.get();
  }
  return mint_into(key, ticket, promise);
}

void LeafCache::install(const std::string& host, Pending leaf, std::uint64_t ticket) {
  auto it = entries_.find(host);
  if (it != entries_.end()) {
    it->second.leaf = std::move(leaf);
    it->second.ticket = ticket;
    recency_.splice(recency_.begin(), recency_, it->second.recency);
    return;
  }
  recency_.push_front(host);
  entries_.emplace(host, Entry{std::move(leaf), ticket, recency_.begin()});
  // Callers already waiting on an evicted entry hold their own future and are unaffected.
  while (entries_.size() > capacity_) {
    entries_.erase(recency_.back());
    recency_.pop_back();
  }
}

std::shared_ptr<const Leaf> LeafCache::mint_into(
    const std::string& host, std::uint64_t ticket,
    std::promise<std::shared_ptr<const Leaf>>& promise) {
  std::shared_ptr<const Leaf> leaf;
  // Waiters must always get a value: a promise abandoned by an exception would leave an
  // entry that throws broken_promise at every later caller.
  try {
    leaf = authority_->mint(host);
  } catch (...) {
    leaf = nullptr;
  }
  promise.set_value(leaf);
  if (!leaf) {
    forget(host, ticket);
  }
  return leaf;
}

// A failed mint is not cached, so the next call tries again; a newer entry is left alone.
void LeafCache::forget(const std::string& host, std::uint64_t ticket) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(host);
  if (it != entries_.end() && it->second.ticket == ticket) {
    recency_.erase(it->second.recency);
    entries_.erase(it);
  }
}

LeafCache::Stats LeafCache::stats() const {
  std::lock_guard lock(mutex_);
  return Stats{hits_, misses_, entries_.size()};
}

}  // namespace hallpass::tls
