#include "filters/domain_table.hpp"

#include <algorithm>

namespace hallpass::filters {

void DomainTable::insert(std::string_view domain, CategoryId category) {
  auto [it, inserted] = entries_.try_emplace(std::string(domain), 0);
  if (inserted) {
    // Millions of entries carry one category each: they all share its one set.
    if (category >= single_set_.size()) {
      single_set_.resize(category + 1, kNoSet);
    }
    if (single_set_[category] == kNoSet) {
      sets_.push_back({category});
      single_set_[category] = static_cast<std::uint32_t>(sets_.size() - 1);
    }
    it->second = single_set_[category];
    return;
  }
  const auto& current = sets_[it->second];
  if (std::find(current.begin(), current.end(), category) != current.end()) {
    return;
  }
  auto merged = current;
  merged.push_back(category);
  std::sort(merged.begin(), merged.end());
  auto existing = std::find(sets_.begin(), sets_.end(), merged);
  if (existing != sets_.end()) {
    it->second = static_cast<std::uint32_t>(existing - sets_.begin());
    return;
  }
  sets_.push_back(std::move(merged));
  it->second = static_cast<std::uint32_t>(sets_.size() - 1);
}

std::string_view DomainTable::find(std::string_view host) const {
  std::string_view found;
  for_each_match(host, [&](std::string_view entry, std::span<const CategoryId>) {
    found = entry;
    return false;
  });
  return found;
}

}  // namespace hallpass::filters

namespace hallpass::filters {

std::string_view DomainTable::find_in(std::string_view host, CategoryId category) const {
  std::string_view found;
  for_each_match(host, [&](std::string_view entry, std::span<const CategoryId> ids) {
    if (std::find(ids.begin(), ids.end(), category) != ids.end()) {
      found = entry;
      return false;
    }
    return true;
  });
  return found;
}

}  // namespace hallpass::filters
