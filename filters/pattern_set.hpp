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

namespace hallpass::filters {

struct PatternSource {
  std::string expression;
  bool caseless = true;
  std::string where;  // "file:line" for the error message
};

class PatternSet {
 public:
  PatternSet() = default;
  // Compiles all patterns; ids are positions in `patterns`. Throws LoadError naming the
  // pattern's `where` and Hyperscan's reason when one does not compile.
  explicit PatternSet(const std::vector<PatternSource>& patterns);

  bool empty() const { return database_ == nullptr; }

  // Calls on_match(id) for each pattern that matches somewhere in `text` (each id at most
  // once per scan, in no particular order). Allocates nothing after a thread's first scan
  // of this set.
  template <typename OnMatch>
  void scan(std::string_view text, OnMatch&& on_match) const {
    if (database_) {
      scan_impl(text, &on_match, [](unsigned id, void* context) {
        (*static_cast<std::remove_reference_t<OnMatch>*>(context))(id);
      });
    }
  }

 private:
  using Callback = void (*)(unsigned id, void* context);
  void scan_impl(std::string_view text, void* context, Callback callback) const;

  struct Free {
    void operator()(hs_database* database) const;
  };
  std::unique_ptr<hs_database, Free> database_;
  std::uint64_t serial_ = 0;
};

}  // namespace hallpass::filters
