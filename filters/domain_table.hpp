// Domain → categories, matched on label boundaries: an entry matches itself and every
// subdomain ("blocked.test" matches "a.blocked.test", never "notblocked.test").
//
// Sized for UT1 downloads (millions of entries): the names live back to back in one arena
// and an open-addressing table of 12-byte slots points into it, so a 2M-entry list costs
// about its text size plus 48 MB, and loading it allocates a handful of times.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hallpass::filters {

using CategoryId = std::uint16_t;

class DomainTable {
 public:
  // `domain` must already be normalized (host.hpp).
  void insert(std::string_view domain, CategoryId category);
  std::size_t size() const { return count_; }
  void reserve(std::size_t entries, std::size_t bytes);

  // Calls visit(matched_entry, categories) for every entry that covers `host`, most
  // specific first; stops early when visit returns false.
  template <typename Visit>
  void for_each_match(std::string_view host, Visit&& visit) const {
    if (count_ == 0) {
      return;
    }
    for (std::string_view suffix = host;;) {
      if (const Slot* slot = lookup(suffix, hash(suffix))) {
        // The entry as stored, so a Decision's rule outlives the request's host string.
        std::string_view entry(arena_.data() + slot->offset, slot->length());
        if (!visit(entry, std::span<const CategoryId>(sets_[slot->set()]))) {
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
  struct Slot {
    std::uint32_t hash = 0;
    std::uint32_t offset = 0;        // into arena_
    std::uint32_t set_and_size = 0;  // set index << 8 | length; 0 marks an empty slot
    std::uint32_t set() const { return set_and_size >> 8; }
    std::uint32_t length() const { return set_and_size & 0xff; }
  };

  static std::uint32_t hash(std::string_view text);
  const Slot* lookup(std::string_view name, std::uint32_t hash) const;
  Slot* lookup_mutable(std::string_view name, std::uint32_t hash);
  void grow();
  std::uint32_t set_with(std::uint32_t current, CategoryId category);

  std::string arena_;
  std::vector<Slot> slots_;  // capacity a power of two, at most 3/4 full
  std::size_t count_ = 0;
  // Most entries carry one category: they all share its one set.
  std::vector<std::vector<CategoryId>> sets_;
  std::vector<std::uint32_t> single_set_;  // category → index of the set {category}
};

}  // namespace hallpass::filters
