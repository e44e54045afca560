#include "proxy/record/top_blocked.hpp"

#include <algorithm>

#include "filters/registrable_domain.hpp"

namespace hallpass::record {

void SpaceSaving::add(std::string_view key) {
  ++total_;
  // `capacity` is small (tens to a few hundred): a linear scan beats a heap plus an index.
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& entry) { return entry.key == key; });
  if (it != entries_.end()) {
    ++it->count;
    return;
  }
  if (entries_.size() < capacity_) {
    entries_.push_back({std::string(key), 1, 0});
    return;
  }
  auto smallest =
      std::min_element(entries_.begin(), entries_.end(),
                       [](const Entry& a, const Entry& b) { return a.count < b.count; });
  smallest->key.assign(key);
  smallest->error = smallest->count;
  ++smallest->count;
}

std::vector<SpaceSaving::Entry> SpaceSaving::top(std::size_t n) const {
  std::vector<Entry> sorted = entries_;
  auto larger = [](const Entry& a, const Entry& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  };
  auto keep = std::min(n, sorted.size());
  std::partial_sort(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(keep),
                    sorted.end(), larger);
  sorted.resize(keep);
  return sorted;
}

void TopBlocked::add(std::string_view building, std::string_view host) {
  auto domain = filters::registrable_domain(host);
  std::lock_guard lock(mutex_);
  auto it = buildings_.find(std::string(building));
  if (it == buildings_.end()) {
    it = buildings_.emplace(std::string(building), SpaceSaving(tracked_)).first;
  }
  it->second.add(domain);
}

std::vector<TopBlocked::Row> TopBlocked::rows() const {
  std::vector<Row> rows;
  std::lock_guard lock(mutex_);
  for (const auto& [building, sketch] : buildings_) {
    std::uint64_t shown_blocks = 0;
    for (auto& entry : sketch.top(shown_)) {
      shown_blocks += entry.count;
      rows.push_back({building, std::move(entry.key), entry.count});
    }
    // Counters of replaced keys overestimate; `other` never goes below zero because of it.
    auto total = sketch.total();
    rows.push_back({building, "other", total > shown_blocks ? total - shown_blocks : 0});
  }
  return rows;
}

}  // namespace hallpass::record
