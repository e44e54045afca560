// The URL-level half of category lists: UT1 `urls` files (host/path prefixes) and
// Hallpass's `patterns` files (regular expressions over "host/path?query", all categories
// compiled into one Hyperscan database).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "filters/domain_table.hpp"
#include "filters/pattern_set.hpp"

namespace hallpass::filters {

class UrlRules {
 public:
  // Reads a `urls` file ("host/path" prefixes; a host alone covers all its paths). Throws
  // LoadError naming file and line for an entry whose host is not a domain.
  void load_prefixes(std::string_view text, const std::string& file, CategoryId category);
  // Reads a `patterns` file (one regex a line, `#` starts a comment line). Patterns are
  // compiled by finish(), which names the file and line of one that does not compile.
  void load_patterns(std::string_view text, const std::string& file, CategoryId category);
  void finish();

  std::size_t size() const { return prefix_count_ + pattern_text_.size(); }

  // Calls visit(entry, category) for each rule matching the request; stops when visit
  // returns false. `path` and `url` are normalized ("host" + path).
  template <typename Visit>
  void for_each_match(std::string_view host, std::string_view path, std::string_view url,
                      Visit&& visit) const {
    if (!prefixes_.empty()) {
      for (std::string_view suffix = host;;) {
        if (auto it = prefixes_.find(suffix); it != prefixes_.end()) {
          for (const auto& prefix : it->second) {
            if (path.starts_with(prefix.path) && !visit(prefix.entry, prefix.category)) {
              return;
            }
          }
        }
        auto dot = suffix.find('.');
        if (dot == std::string_view::npos) {
          break;
        }
        suffix.remove_prefix(dot + 1);
      }
    }
    bool go_on = true;
    patterns_.scan(url, [&](unsigned id) {
      if (go_on) {
        go_on = visit(std::string_view(pattern_text_[id]), pattern_category_[id]);
      }
    });
  }

 private:
  struct Prefix {
    std::string path;
    CategoryId category;
    std::string entry;  // as written, for the decision's rule
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<Prefix>, Hash, std::equal_to<>> prefixes_;
  std::size_t prefix_count_ = 0;
  std::vector<PatternSource> pattern_sources_;
  std::vector<CategoryId> pattern_category_;
  std::vector<std::string> pattern_text_;
  PatternSet patterns_;
};

}  // namespace hallpass::filters
