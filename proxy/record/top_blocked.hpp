// The most blocked sites per building, for "top blocked domains" dashboards without a
// metric label per domain: a space-saving sketch (Metwally et al.) keeps `tracked`
// counters per building, and only the `shown` largest become labels; the rest of the
// building's blocks are reported as `other`. Memory and label count are bounded whatever
// the traffic.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hallpass::record {

class SpaceSaving {
 public:
  struct Entry {
    std::string key;
    std::uint64_t count = 0;
    std::uint64_t error = 0;  // how much of `count` may belong to keys it replaced
  };

  explicit SpaceSaving(std::size_t capacity) : capacity_(capacity) {}

  void add(std::string_view key);
  // The `n` largest counters, largest first (ties by key, so output is stable).
  std::vector<Entry> top(std::size_t n) const;
  std::uint64_t total() const { return total_; }

 private:
  std::size_t capacity_;
  std::uint64_t total_ = 0;
  std::vector<Entry> entries_;
};

class TopBlocked {
 public:
  struct Row {
    std::string building;
    std::string domain;  // a registrable domain, or "other"
    std::uint64_t blocks;
  };

  TopBlocked(std::size_t shown, std::size_t tracked) : shown_(shown), tracked_(tracked) {}

  // `host` is the blocked request's normalized host; it is counted by registrable domain.
  void add(std::string_view building, std::string_view host);
  // Per building: its `shown` top domains and `other` (blocks not among them).
  std::vector<Row> rows() const;

 private:
  std::size_t shown_;
  std::size_t tracked_;
  mutable std::mutex mutex_;  // blocks are rare next to requests: a plain lock is enough
  std::unordered_map<std::string, SpaceSaving> buildings_;
};

}  // namespace hallpass::record
