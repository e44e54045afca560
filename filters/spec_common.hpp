// Pieces every spec shares: where a value was written, and the examples a rule carries.
#pragma once

#include <string>
#include <vector>

namespace hallpass::filters {

struct SourceLocation {
  std::string file;
  int line = 0;
};

// Examples a rule must (or must not) match; run by the test suite. For URL rules each is
// "METHOD URL"; for content patterns, a text as a person would type it.
struct RuleExamples {
  std::vector<std::string> match;
  std::vector<std::string> no_match;
};

}  // namespace hallpass::filters
