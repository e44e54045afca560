// What a policy makes of a scanned body: each category's score against its thresholds.
#include <algorithm>

#include "filters/policy.hpp"

namespace hallpass::filters {

namespace {

// How strongly a category acted: block, then alert, then flag.
int strength(bool block, bool alert, bool flag) {
  return block ? 3 : alert ? 2 : flag ? 1 : 0;
}

}  // namespace

ContentVerdict Policy::content_verdict(const Client& client,
                                       const ContentScanner::Scan& scan) const {
  const auto& thresholds = profile_for(client).content;
  const auto& patterns = content_->patterns();
  const auto& categories = content_->categories();
  ContentVerdict verdict;
  int best = 0;
  Severity best_severity = Severity::low;
  for (std::uint16_t category = 0; category < categories.size(); ++category) {
    int score = scan.score(category);
    if (score == 0) {
      continue;
    }
    const auto& t = thresholds[category];
    bool block = t.block > 0 && score >= t.block;
    bool alert = t.alert > 0 && score >= t.alert;
    bool flag = block || alert || (t.flag > 0 && score >= t.flag);
    verdict.block |= block;
    verdict.alert |= alert;
    verdict.flag |= flag;
    Severity severity = Severity::low;
    for (auto index : scan.matched()) {
      if (patterns[index].category == category) {
        severity = std::max(severity, patterns[index].severity);
      }
    }
    int this_strength = strength(block, alert, flag);
    if (this_strength == 0) {
      continue;
    }
    if (this_strength > best || (this_strength == best && severity > best_severity) ||
        (this_strength == best && severity == best_severity && score > verdict.score)) {
      best = this_strength;
      best_severity = severity;
      verdict.category = categories[category];
      verdict.score = score;
    }
  }
  int heaviest = 0;
  const ContentScanner::Scan::Match* where = nullptr;
  for (auto index : scan.matched()) {
    const auto& pattern = patterns[index];
    verdict.flags.push_back({categories[pattern.category], pattern.id, pattern.severity});
    if (categories[pattern.category] == verdict.category && pattern.weight > heaviest) {
      heaviest = pattern.weight;
      verdict.pattern = pattern.id;
      where = scan.first_match(index);
    }
  }
  if (where != nullptr) {
    verdict.snippet = where->snippet;
    verdict.offset = where->end;
  }
  return verdict;
}

bool Policy::content_can_block(const Client& client) const {
  const auto& profile = profile_for(client);
  return !content_->empty() &&
         (profile.on_oversize == Action::block ||
          std::any_of(profile.content.begin(), profile.content.end(),
                      [](const ContentThresholds& t) { return t.block > 0; }));
}

bool Policy::blocks_unjudged(const Client& client) const {
  return profile_for(client).on_oversize == Action::block;
}

Decision Policy::with_content(Decision decision, const ContentVerdict& verdict) {
  decision.alert = verdict.alert;
  decision.flagged = verdict.flag;
  if (decision.action == Action::block || !verdict.flag) {
    return decision;
  }
  decision.step = Step::content;
  decision.schedule = {};
  if (verdict.block && !verdict.unjudged.empty()) {
    // Blocked for what could not be read (`on_oversize: block`), whatever the rest scored.
    decision.action = Action::block;
    if (!verdict.category.empty()) {
      decision.category = verdict.category;
    }
    decision.rule = "on_oversize";
    decision.reason_code = "content_unjudged";
    return decision;
  }
  decision.category = verdict.category;
  decision.rule = verdict.pattern;
  if (verdict.block) {
    decision.action = Action::block;
    decision.reason_code = "content_block";
  } else {
    decision.reason_code = verdict.alert ? "content_alert" : "content_flag";
  }
  return decision;
}

}  // namespace hallpass::filters
