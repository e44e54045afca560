#include "filters/function_catalog.hpp"

#include <algorithm>
#include <array>
#include <map>

#include "filters/load_error.hpp"

namespace hallpass::filters {

namespace {

std::string where_text(const SourceLocation& where) {
  return where.file + ":" + std::to_string(where.line);
}

bool method_allowed(const std::vector<std::string>& methods, std::string_view method) {
  return methods.empty() || std::find(methods.begin(), methods.end(), method) != methods.end();
}

}  // namespace

FunctionCatalog::FunctionCatalog(const std::vector<FunctionRuleSpec>& specs) {
  // Rules naming the same hosts share one group, so a host lookup yields few groups.
  std::map<std::vector<std::string>, std::uint16_t> groups;
  std::vector<PatternSource> patterns;
  for (const auto& spec : specs) {
    if (spec.hosts.empty()) {
      throw LoadError(spec.where.file, spec.where.line, "rule \"" + spec.id + "\" has no hosts");
    }
    auto sorted = spec.hosts;
    std::sort(sorted.begin(), sorted.end());
    auto [it, added] = groups.try_emplace(sorted, static_cast<std::uint16_t>(groups.size()));
    if (added) {
      for (const auto& host : sorted) {
        hosts_.insert(host, it->second);
      }
    }
    auto index = static_cast<std::uint32_t>(rules_.size());
    rules_.push_back(
        {spec.id, "social-" + spec.function, it->second, spec.methods, spec.path.empty()});
    if (!spec.path.empty()) {
      patterns.push_back({spec.path, true, where_text(spec.where)});
      pattern_rule_.push_back(index);
    }
  }
  paths_ = PatternSet(patterns);
}

const FunctionCatalog::Rule* FunctionCatalog::match(std::string_view host, std::string_view method,
                                                    std::string_view path) const {
  // A host sits under few groups (its platform, maybe one special host); a fixed array
  // keeps this allocation-free.
  std::array<CategoryId, 8> matched{};
  std::size_t count = 0;
  hosts_.for_each_match(host, [&](std::string_view, std::span<const CategoryId> ids) {
    for (auto id : ids) {
      if (count < matched.size()) {
        matched[count++] = id;
      }
    }
    return true;
  });
  if (count == 0) {
    return nullptr;
  }
  auto in_group = [&](const Rule& rule) {
    return std::find(matched.begin(), matched.begin() + count, rule.group) !=
               matched.begin() + count &&
           method_allowed(rule.methods, method);
  };
  auto best = static_cast<std::uint32_t>(rules_.size());
  for (std::uint32_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].whole_host && in_group(rules_[i])) {
      best = i;
      break;
    }
  }
  if (!path.empty()) {
    paths_.scan(path, [&](unsigned id) {
      auto index = pattern_rule_[id];
      if (index < best && in_group(rules_[index])) {
        best = index;
      }
    });
  }
  return best < rules_.size() ? &rules_[best] : nullptr;
}

}  // namespace hallpass::filters
