// Scans request bodies and query strings against the content pattern sets: patterns on the
// raw text and patterns on the normalized text, each compiled once per policy into a
// Hyperscan block-mode database and a stream-mode one, scratch per thread. A text up to
// kWholeTextBytes is kept and scanned whole in block mode at finish(), which runs faster; a
// longer one is streamed piece by piece and never kept whole.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filters/content_types.hpp"
#include "filters/pattern_set.hpp"
#include "filters/text_normalizer.hpp"

namespace hallpass::filters {

class ContentScanner {
 public:
  struct Pattern {
    std::string id;
    std::uint16_t category;  // index into categories()
    int weight;
    Severity severity;
  };

  ContentScanner() = default;
  // Throws LoadError naming the pattern's file and line when one does not compile.
  explicit ContentScanner(const std::vector<ContentPatternSpec>& specs);

  // The compiled scanner for `specs`, shared while the pattern sets stay the same: compiling
  // the shipped sets takes about a second, and a reload that changes only lists or policies
  // must not pay it again. A few recent sets are kept.
  static std::shared_ptr<const ContentScanner> shared(const std::vector<ContentPatternSpec>& specs);

  bool empty() const { return patterns_.empty(); }
  const std::vector<Pattern>& patterns() const { return patterns_; }
  const std::vector<std::string>& categories() const { return categories_; }

  // Text up to this size is kept and scanned whole at finish(). Most request bodies, chat
  // messages and query strings are a few KiB: one block-mode scan each, no stream opened.
  // It bounds what a scan holds beyond the proxy's own body buffer.
  static constexpr std::size_t kWholeTextBytes = 16 * 1024;

  // One body (or query string): feed decoded text, then finish; matched() lists each
  // pattern at most once, in the order first seen. The matches are the same whichever way
  // the text is cut and whether it is scanned whole or streamed (`whole_text_bytes` 0
  // streams from the first byte, for tests).
  class Scan {
   public:
    explicit Scan(const ContentScanner& scanner, std::size_t whole_text_bytes = kWholeTextBytes);
    void feed(std::string_view text);
    void finish();
    const std::vector<std::uint16_t>& matched() const { return matched_; }
    // Sum of the weights of the distinct patterns matched in `category`, capped so a long
    // body cannot overflow or drown every other category.
    int score(std::uint16_t category) const;

    // Where a pattern first matched: the offset just past it in the decoded text (in the
    // normalized text for patterns that read that), and the masked words before it. Kept
    // for the first kKeptMatches patterns matched; null for others.
    struct Match {
      std::uint16_t pattern;
      std::uint64_t end;
      std::string snippet;
    };
    const Match* first_match(std::uint16_t pattern) const;
    static constexpr std::size_t kKeptMatches = 8;

   private:
    // One of the two texts (raw, normalized) while it is streamed.
    struct StreamedText {
      PatternSet::Stream stream;
      const std::vector<std::uint16_t>* ids = nullptr;  // database id → pattern index
      std::uint64_t offset = 0;                         // stream offset of the piece being scanned
      std::string tail;  // the last bytes, for matches found at the stream's close
    };
    void start_streams();
    void feed_streams(std::string_view text);
    void feed_stream(StreamedText& streamed, std::string_view piece);
    void close_stream(StreamedText& streamed);
    void scan_whole();
    static void keep_tail(std::string& tail, std::string_view text);
    void record(unsigned pattern, std::uint64_t end, std::string_view piece,
                std::uint64_t piece_start);
    const ContentScanner& scanner_;
    std::size_t whole_text_bytes_;
    std::string whole_;  // the text so far, while it may still be scanned whole
    bool streaming_ = false;
    bool finished_ = false;
    StreamedText raw_;
    StreamedText normalized_;
    TextNormalizer normalizer_;
    std::vector<std::uint16_t> matched_;
    std::vector<Match> matches_;
  };

  static constexpr int kMaxScore = 1000;

 private:
  std::vector<Pattern> patterns_;
  std::vector<std::string> categories_;
  PatternSet raw_set_;  // stream mode
  PatternSet raw_block_;
  std::vector<std::uint16_t> raw_ids_;  // raw set id → pattern index
  PatternSet normalized_set_;
  PatternSet normalized_block_;
  std::vector<std::uint16_t> normalized_ids_;
};

}  // namespace hallpass::filters
