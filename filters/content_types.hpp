// Content flagging values: what the pattern sets are made of (as the config states them),
// what a scanned body matched, and what a policy makes of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/spec_common.hpp"

namespace hallpass::filters {

enum class Severity : std::uint8_t { low, medium, high, critical };
std::string_view to_string(Severity severity);

struct ContentPatternSpec {
  std::string id;
  std::string category;
  std::string description;
  std::string regex;
  bool caseless = true;
  bool dotall = false;
  bool multiline = false;
  bool utf8 = false;
  bool ucp = false;
  int weight = 1;
  Severity severity = Severity::medium;
  bool normalize = false;  // matched against TextNormalizer output instead of the raw text
  RuleExamples examples;
  SourceLocation where;
};

// A category's score thresholds: 0 means "never". A body's score in a category is the sum
// of the weights of the distinct patterns it matched there.
struct ContentThresholds {
  int flag = 0;
  int block = 0;
  int alert = 0;
};

// A policy's change to the district's thresholds for one category: only what it sets.
struct ThresholdOverride {
  std::optional<int> flag;
  std::optional<int> block;
  std::optional<int> alert;
};

// One pattern a body matched; views into the Policy.
struct ContentFlag {
  std::string_view category;
  std::string_view pattern;
  Severity severity = Severity::low;
};

// What the policy makes of a scanned body. `block` stops the request; `alert` pages a
// person (self-harm: staff are mandated reporters) and may come with or without a block.
struct ContentVerdict {
  bool flag = false;
  bool block = false;
  bool alert = false;
  std::string_view category;  // the category that decided (the most severe one)
  std::string_view pattern;   // its heaviest matched pattern, named as the decision's rule
  int score = 0;              // that category's score
  std::vector<ContentFlag> flags;
  // The deciding pattern's first match: the masked words before it and where it ended in
  // the decoded text (see ContentScanner::Scan::Match).
  std::string snippet;
  std::uint64_t offset = 0;
  // Why the body could not be judged whole ("oversize", "coding", "corrupt", "inflate_limit");
  // empty when it was.
  std::string_view unjudged;
};

}  // namespace hallpass::filters
