#include "filters/content_scanner.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include "filters/load_error.hpp"
#include "filters/snippet.hpp"

namespace hallpass::filters {

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::low:
      return "low";
    case Severity::medium:
      return "medium";
    case Severity::high:
      return "high";
    case Severity::critical:
      return "critical";
  }
  return "low";
}

ContentScanner::ContentScanner(const std::vector<ContentPatternSpec>& specs) {
  std::vector<PatternSource> raw;
  std::vector<PatternSource> normalized;
  for (const auto& spec : specs) {
    auto where = spec.where.file + ":" + std::to_string(spec.where.line);
    if (std::any_of(patterns_.begin(), patterns_.end(),
                    [&](const Pattern& p) { return p.id == spec.id; })) {
      throw LoadError(spec.where.file, spec.where.line,
                      "content pattern \"" + spec.id + "\" is defined twice");
    }
    auto category = std::find(categories_.begin(), categories_.end(), spec.category);
    if (category == categories_.end()) {
      categories_.push_back(spec.category);
      category = categories_.end() - 1;
    }
    auto index = static_cast<std::uint16_t>(patterns_.size());
    patterns_.push_back({spec.id, static_cast<std::uint16_t>(category - categories_.begin()),
                         spec.weight, spec.severity});
    PatternSource source{spec.regex,     spec.caseless, where,   spec.dotall,
                         spec.multiline, spec.utf8,     spec.ucp};
    (spec.normalize ? normalized : raw).push_back(std::move(source));
    (spec.normalize ? normalized_ids_ : raw_ids_).push_back(index);
  }
  raw_set_ = PatternSet(raw, PatternSet::Mode::stream);
  normalized_set_ = PatternSet(normalized, PatternSet::Mode::stream);
}

namespace {

// Everything a compiled scanner depends on, as one string.
std::string cache_key(const std::vector<ContentPatternSpec>& specs) {
  std::string key;
  for (const auto& spec : specs) {
    key += spec.id;
    key += '\0';
    key += spec.category;
    key += '\0';
    key += spec.regex;
    key += '\0';
    key += std::to_string(spec.weight);
    key += static_cast<char>('0' + static_cast<int>(spec.severity));
    for (bool flag :
         {spec.caseless, spec.dotall, spec.multiline, spec.utf8, spec.ucp, spec.normalize}) {
      key += flag ? '1' : '0';
    }
    key += '\n';
  }
  return key;
}

}  // namespace

std::shared_ptr<const ContentScanner> ContentScanner::shared(
    const std::vector<ContentPatternSpec>& specs) {
  constexpr std::size_t kKept = 4;
  static std::mutex mutex;
  static std::vector<std::pair<std::string, std::shared_ptr<const ContentScanner>>> recent;
  auto key = cache_key(specs);
  std::lock_guard lock(mutex);
  auto it = std::find_if(recent.begin(), recent.end(),
                         [&](const auto& entry) { return entry.first == key; });
  if (it != recent.end()) {
    auto scanner = it->second;
    recent.erase(it);
    recent.emplace(recent.begin(), std::move(key), scanner);
    return scanner;
  }
  auto scanner = std::make_shared<const ContentScanner>(specs);  // may throw: nothing kept
  recent.emplace(recent.begin(), std::move(key), scanner);
  if (recent.size() > kKept) {
    recent.pop_back();
  }
  return scanner;
}

ContentScanner::Scan::Scan(const ContentScanner& scanner)
    : scanner_(scanner),
      raw_(scanner.raw_set_.open_stream()),
      normalized_(scanner.normalized_set_.open_stream()),
      seen_(scanner.patterns_.size(), false) {}

void ContentScanner::Scan::record(unsigned pattern, std::uint64_t end, std::string_view piece,
                                  std::uint64_t piece_start) {
  if (seen_[pattern]) {
    return;
  }
  seen_[pattern] = true;
  matched_.push_back(static_cast<std::uint16_t>(pattern));
  if (matches_.size() < kKeptMatches) {
    // Only the piece in hand is known: a match that began in an earlier piece shows its end.
    auto in_piece = end >= piece_start ? end - piece_start : 0;
    matches_.push_back({static_cast<std::uint16_t>(pattern), end,
                        masked_snippet(piece, static_cast<std::size_t>(in_piece))});
  }
}

void ContentScanner::Scan::feed(std::string_view text) {
  raw_.feed(text, [&](unsigned id, unsigned long long end) {
    record(scanner_.raw_ids_[id], end, text, raw_offset_);
  });
  raw_offset_ += text.size();
  keep_tail(raw_tail_, text);
  normalized_text_.clear();
  normalizer_.feed(text, normalized_text_);
  feed_normalized();
}

void ContentScanner::Scan::feed_normalized() {
  normalized_.feed(normalized_text_, [&](unsigned id, unsigned long long end) {
    record(scanner_.normalized_ids_[id], end, normalized_text_, normalized_offset_);
  });
  normalized_offset_ += normalized_text_.size();
  keep_tail(normalized_tail_, normalized_text_);
}

// The stream's last bytes, for the snippet of a match only the end of the text confirms
// (a pattern ending in \b, say).
void ContentScanner::Scan::keep_tail(std::string& tail, std::string_view text) {
  if (text.size() >= kSnippetBytes) {
    tail.assign(text.substr(text.size() - kSnippetBytes));
    return;
  }
  tail.append(text);
  if (tail.size() > kSnippetBytes) {
    tail.erase(0, tail.size() - kSnippetBytes);
  }
}

void ContentScanner::Scan::finish() {
  normalized_text_.clear();
  normalizer_.finish(normalized_text_);
  feed_normalized();
  raw_.close([&](unsigned id, unsigned long long end) {
    record(scanner_.raw_ids_[id], end, raw_tail_, raw_offset_ - raw_tail_.size());
  });
  normalized_.close([&](unsigned id, unsigned long long end) {
    record(scanner_.normalized_ids_[id], end, normalized_tail_,
           normalized_offset_ - normalized_tail_.size());
  });
}

const ContentScanner::Scan::Match* ContentScanner::Scan::first_match(std::uint16_t pattern) const {
  auto it = std::find_if(matches_.begin(), matches_.end(),
                         [&](const Match& m) { return m.pattern == pattern; });
  return it == matches_.end() ? nullptr : &*it;
}

int ContentScanner::Scan::score(std::uint16_t category) const {
  int total = 0;
  for (auto index : matched_) {
    const auto& pattern = scanner_.patterns_[index];
    if (pattern.category == category) {
      total = std::min(kMaxScore, total + pattern.weight);
    }
  }
  return total;
}

}  // namespace hallpass::filters
