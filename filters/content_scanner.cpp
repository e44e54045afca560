#include "filters/content_scanner.hpp"

#include <algorithm>
#include <future>
#include <mutex>
#include <tuple>
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
  // The block-mode databases compile on a second thread: compiling is most of a policy
  // load's time (about 1.3 s for the shipped sets, per mode), and a load should not take
  // twice as long for the second mode. A LoadError is rethrown by get(); if this thread's
  // compile throws first, the future's destructor waits for the other before `raw` and
  // `normalized` go.
  auto block = std::async(std::launch::async, [&] {
    return std::pair{PatternSet(raw, PatternSet::Mode::block),
                     PatternSet(normalized, PatternSet::Mode::block)};
  });
  raw_set_ = PatternSet(raw, PatternSet::Mode::stream);
  normalized_set_ = PatternSet(normalized, PatternSet::Mode::stream);
  std::tie(raw_block_, normalized_block_) = block.get();
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

namespace {

// The normalized text of the piece in hand, reused by every scan on the thread: it is only
// read while the piece is scanned, and a match copies what it keeps.
std::string& normalized_buffer() {
  thread_local std::string buffer;
  buffer.clear();
  return buffer;
}

}  // namespace

ContentScanner::Scan::Scan(const ContentScanner& scanner, std::size_t whole_text_bytes)
    : scanner_(scanner), whole_text_bytes_(whole_text_bytes) {}

void ContentScanner::Scan::record(unsigned pattern, std::uint64_t end, std::string_view piece,
                                  std::uint64_t piece_start) {
  // Hyperscan reports each pattern once a scan (single-match flag); this guards the order
  // of matched_ should a pattern ever be reported twice. Bodies match a handful at most.
  if (std::find(matched_.begin(), matched_.end(), pattern) != matched_.end()) {
    return;
  }
  matched_.push_back(static_cast<std::uint16_t>(pattern));
  if (matches_.size() < kKeptMatches) {
    // Only the piece in hand is known: a match that began in an earlier piece shows its end.
    auto in_piece = end >= piece_start ? end - piece_start : 0;
    matches_.push_back({static_cast<std::uint16_t>(pattern), end,
                        masked_snippet(piece, static_cast<std::size_t>(in_piece))});
  }
}

void ContentScanner::Scan::feed(std::string_view text) {
  if (!streaming_ && whole_.size() + text.size() <= whole_text_bytes_) {
    whole_.reserve(whole_.size() + text.size());  // one allocation for a body fed at once
    whole_.append(text);
    return;
  }
  if (!streaming_) {
    start_streams();
  }
  feed_streams(text);
}

// The text outgrew whole_text_bytes_: stream from here on, starting with what was kept.
void ContentScanner::Scan::start_streams() {
  streaming_ = true;
  raw_ = {scanner_.raw_set_.open_stream(), &scanner_.raw_ids_, 0, {}};
  normalized_ = {scanner_.normalized_set_.open_stream(), &scanner_.normalized_ids_, 0, {}};
  std::string kept;
  kept.swap(whole_);
  feed_streams(kept);
}

void ContentScanner::Scan::feed_streams(std::string_view text) {
  feed_stream(raw_, text);
  auto& normalized = normalized_buffer();
  normalizer_.feed(text, normalized);
  feed_stream(normalized_, normalized);
}

void ContentScanner::Scan::feed_stream(StreamedText& streamed, std::string_view piece) {
  streamed.stream.feed(piece, [&](unsigned id, unsigned long long end) {
    record((*streamed.ids)[id], end, piece, streamed.offset);
  });
  streamed.offset += piece.size();
  keep_tail(streamed.tail, piece);
}

void ContentScanner::Scan::close_stream(StreamedText& streamed) {
  streamed.stream.close([&](unsigned id, unsigned long long end) {
    record((*streamed.ids)[id], end, streamed.tail, streamed.offset - streamed.tail.size());
  });
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

// The whole text in hand: one block-mode scan of each database, in the order the streams
// would report (raw patterns of a piece first).
void ContentScanner::Scan::scan_whole() {
  scanner_.raw_block_.scan(whole_, [&](unsigned id, unsigned long long end) {
    record(scanner_.raw_ids_[id], end, whole_, 0);
  });
  auto& normalized = normalized_buffer();
  normalizer_.feed(whole_, normalized);
  normalizer_.finish(normalized);
  scanner_.normalized_block_.scan(normalized, [&](unsigned id, unsigned long long end) {
    record(scanner_.normalized_ids_[id], end, normalized, 0);
  });
  whole_.clear();
}

void ContentScanner::Scan::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  if (!streaming_) {
    scan_whole();
    return;
  }
  auto& normalized = normalized_buffer();
  normalizer_.finish(normalized);
  feed_stream(normalized_, normalized);
  close_stream(raw_);
  close_stream(normalized_);
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
