// Domain → categories, matched on label boundaries: an entry matches itself and every
// subdomain ("blocked.test" matches "a.blocked.test", never "notblocked.test").
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hallpass::filters {

using CategoryId = std::uint16_t;

class DomainTable {
 public:
  // `domain` must already be normalized (host.hpp).
  void insert(std::string_view domain, CategoryId category);
  std::size_t size() const { return entries_.size(); }

  // Calls visit(matched_entry, categories) for every entry that covers `host`, most
  // specific first; stops early when visit returns false.
  template <typename Visit>
  void for_each_match(std::string_view host, Visit&& visit) const {
    for (std::string_view suffix = host;;) {
      if (auto it = entries_.find(suffix); it != entries_.end()) {
        if (!visit(std::string_view(it->first), std::span<const CategoryId>(sets_[it->second]))) {
          return;
        }
      }
      auto dot = suffix.find('.');
      if (dot == std::string_view::npos) {
        return;
      }
      suffix.remove_prefix(dot + 1);
    }
  }

  // The most specific entry covering `host`, or empty.
  std::string_view find(std::string_view host) const;
  // The most specific entry covering `host` that carries `category`, or empty.
  std::string_view find_in(std::string_view host, CategoryId category) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Most domains carry one category; sets_ holds each distinct category set once.
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> entries_;
  std::vector<std::vector<CategoryId>> sets_;
  static constexpr std::uint32_t kNoSet = UINT32_MAX;
  std::vector<std::uint32_t> single_set_;  // category → index of the set {category}
};

}  // namespace hallpass::filters
