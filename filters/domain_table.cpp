#include "filters/domain_table.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace hallpass::filters {

namespace {
constexpr std::uint32_t kNoSet = UINT32_MAX;
constexpr std::size_t kMaxSets = 1U << 24;  // set indices share a word with the length
}  // namespace

// FNV-1a, then a finalizer so the low bits (the slot index) depend on every byte.
std::uint32_t DomainTable::hash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h = (h ^ c) * 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<std::uint32_t>(h);
}

const DomainTable::Slot* DomainTable::lookup(std::string_view name, std::uint32_t h) const {
  auto mask = slots_.size() - 1;
  for (auto i = h & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.set_and_size == 0) {
      return nullptr;
    }
    if (slot.hash == h && slot.length() == name.size() &&
        std::string_view(arena_).substr(slot.offset, slot.length()) == name) {
      return &slot;
    }
  }
}

DomainTable::Slot* DomainTable::lookup_mutable(std::string_view name, std::uint32_t h) {
  return const_cast<Slot*>(static_cast<const DomainTable*>(this)->lookup(name, h));
}

void DomainTable::reserve(std::size_t entries, std::size_t bytes) {
  arena_.reserve(arena_.size() + bytes);
  auto wanted = std::bit_ceil((count_ + entries) * 4 / 3 + 1);
  while (slots_.size() < wanted) {
    grow();
  }
}

void DomainTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
  auto mask = slots_.size() - 1;
  for (const auto& slot : old) {
    if (slot.set_and_size != 0) {
      auto i = slot.hash & mask;
      while (slots_[i].set_and_size != 0) {
        i = (i + 1) & mask;
      }
      slots_[i] = slot;
    }
  }
}

std::uint32_t DomainTable::set_with(std::uint32_t current, CategoryId category) {
  if (current == kNoSet) {
    if (category >= single_set_.size()) {
      single_set_.resize(category + 1, kNoSet);
    }
    if (single_set_[category] == kNoSet) {
      sets_.push_back({category});
      single_set_[category] = static_cast<std::uint32_t>(sets_.size() - 1);
    }
    return single_set_[category];
  }
  const auto& existing = sets_[current];
  if (std::find(existing.begin(), existing.end(), category) != existing.end()) {
    return current;
  }
  auto merged = existing;
  merged.push_back(category);
  std::sort(merged.begin(), merged.end());
  if (auto it = std::find(sets_.begin(), sets_.end(), merged); it != sets_.end()) {
    return static_cast<std::uint32_t>(it - sets_.begin());
  }
  if (sets_.size() >= kMaxSets) {
    throw std::length_error("too many distinct category combinations in the lists");
  }
  sets_.push_back(std::move(merged));
  return static_cast<std::uint32_t>(sets_.size() - 1);
}

void DomainTable::insert(std::string_view domain, CategoryId category) {
  if (domain.empty() || domain.size() > 0xff) {
    return;  // normalized names are 1-253 bytes; nothing else can match a host
  }
  auto h = hash(domain);
  if (!slots_.empty()) {
    if (Slot* slot = lookup_mutable(domain, h)) {
      slot->set_and_size = set_with(slot->set(), category) << 8 | slot->length();
      return;
    }
  }
  if ((count_ + 1) * 4 > slots_.size() * 3) {
    grow();
  }
  auto mask = slots_.size() - 1;
  auto i = h & mask;
  while (slots_[i].set_and_size != 0) {
    i = (i + 1) & mask;
  }
  slots_[i] = {h, static_cast<std::uint32_t>(arena_.size()),
               set_with(kNoSet, category) << 8 | static_cast<std::uint32_t>(domain.size())};
  arena_.append(domain);
  ++count_;
}

std::string_view DomainTable::find(std::string_view host) const {
  std::string_view found;
  for_each_match(host, [&](std::string_view entry, std::span<const CategoryId>) {
    found = entry;
    return false;
  });
  return found;
}

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
