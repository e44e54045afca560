// Social-platform function rules: which function (dm, post, ...) a request uses. A request
// matches a rule when its host is under the rule's hosts, its method is allowed, and the
// rule's path pattern (if any) matches the normalized path; the first rule in file order wins.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "filters/domain_table.hpp"
#include "filters/pattern_set.hpp"
#include "filters/policy_spec.hpp"

namespace hallpass::filters {

class FunctionCatalog {
 public:
  struct Rule {
    std::string id;
    std::string category;  // "social-" + function
    std::uint16_t group;   // host group the rule applies to
    std::vector<std::string> methods;
    bool whole_host;  // no path pattern
  };

  FunctionCatalog() = default;
  // Throws LoadError naming the rule's file and line (bad host, bad pattern).
  explicit FunctionCatalog(const std::vector<FunctionRuleSpec>& specs);

  // `path` is the normalized path and query, or empty for CONNECT (only whole-host rules
  // can match then). Returns nullptr when no rule matches.
  const Rule* match(std::string_view host, std::string_view method, std::string_view path) const;
  bool covers(std::string_view host) const { return !hosts_.find(host).empty(); }
  const std::vector<Rule>& rules() const { return rules_; }

 private:
  std::vector<Rule> rules_;
  std::vector<std::uint32_t> pattern_rule_;  // pattern id → rule index
  PatternSet paths_;
  DomainTable hosts_;  // host → groups
};

}  // namespace hallpass::filters
