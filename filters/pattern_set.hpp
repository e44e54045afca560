// A set of regular expressions compiled once into one Hyperscan database (block mode).
// Scans need scratch space that is not re-entrant: each thread keeps its own, grown to fit
// every database it meets, so a scan never allocates after the first use on a thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

struct hs_database;
struct hs_stream;

namespace hallpass::filters {

struct PatternSource {
  std::string expression;
  bool caseless = true;
  std::string where;  // "file:line" for the error message
  bool dotall = false;
  bool multiline = false;
  bool utf8 = false;  // with ucp: Unicode classes over UTF-8
  bool ucp = false;
};

class PatternSet {
 public:
  // Block mode scans one whole text; stream mode scans a text that arrives in pieces (a
  // request body), finding matches that straddle two pieces without keeping the text.
  enum class Mode { block, stream };

  PatternSet() = default;
  // Compiles all patterns; ids are positions in `patterns`. Throws LoadError naming the
  // pattern's `where` and Hyperscan's reason when one does not compile.
  explicit PatternSet(const std::vector<PatternSource>& patterns, Mode mode = Mode::block);

  bool empty() const { return database_ == nullptr; }

  // A match: the pattern's id and the offset just past its end in the scanned text (stream
  // mode: in the whole stream). Callers take on_match(id) or on_match(id, end).
  using Callback = void (*)(unsigned id, unsigned long long end, void* context);
  template <typename OnMatch>
  static void call(unsigned id, unsigned long long end, void* context) {
    auto& on_match = *static_cast<std::remove_reference_t<OnMatch>*>(context);
    if constexpr (std::is_invocable_v<decltype(on_match), unsigned, unsigned long long>) {
      on_match(id, end);
    } else {
      on_match(id);
    }
  }

  // One text scanned piece by piece (stream mode). A few hundred bytes of Hyperscan state;
  // nothing of the text is kept.
  class Stream {
   public:
    Stream() = default;
    Stream(Stream&& other) noexcept;
    Stream& operator=(Stream&& other) noexcept;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    ~Stream();

    template <typename OnMatch>
    void feed(std::string_view piece, OnMatch&& on_match) {
      if (stream_ != nullptr) {
        feed_impl(piece, &on_match, &call<OnMatch>);
      }
    }
    // The end of the text: patterns anchored at its end report here.
    template <typename OnMatch>
    void close(OnMatch&& on_match) {
      if (stream_ != nullptr) {
        close_impl(&on_match, &call<OnMatch>);
      }
    }

   private:
    friend class PatternSet;
    void feed_impl(std::string_view piece, void* context, Callback callback);
    void close_impl(void* context, Callback callback);
    const PatternSet* set_ = nullptr;
    hs_stream* stream_ = nullptr;
  };
  // A stream over this set (stream mode only; an empty set gives an inert stream).
  Stream open_stream() const;

  // Calls on_match(id) for each pattern that matches somewhere in `text` (each id at most
  // once per scan, in no particular order). Allocates nothing after a thread's first scan
  // of this set.
  template <typename OnMatch>
  void scan(std::string_view text, OnMatch&& on_match) const {
    if (database_) {
      scan_impl(text, &on_match, &call<OnMatch>);
    }
  }

 private:
  void scan_impl(std::string_view text, void* context, Callback callback) const;

  struct Free {
    void operator()(hs_database* database) const;
  };
  std::unique_ptr<hs_database, Free> database_;
  std::uint64_t serial_ = 0;
};

}  // namespace hallpass::filters
