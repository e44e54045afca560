#include "filters/pattern_set.hpp"

#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <atomic>

#include "filters/load_error.hpp"

namespace hallpass::filters {

namespace {

struct ScratchFree {
  void operator()(hs_scratch_t* scratch) const { hs_free_scratch(scratch); }
};

// One scratch per thread, grown by hs_alloc_scratch to suit every database it has met (it
// only ever grows, so it keeps fitting the earlier ones). `prepared` remembers recent
// databases by serial, not address: a freed database's address can come back as a larger
// one this scratch does not fit yet. A decision scans several sets in turn, so a single
// "last database" would call hs_alloc_scratch on every scan.
struct ThreadScratch {
  std::unique_ptr<hs_scratch_t, ScratchFree> scratch;
  std::array<std::uint64_t, 16> prepared{};
  std::size_t next = 0;

  hs_scratch_t* for_database(const hs_database_t* database, std::uint64_t serial) {
    if (std::find(prepared.begin(), prepared.end(), serial) == prepared.end()) {
      hs_scratch_t* raw = scratch.release();
      if (hs_alloc_scratch(database, &raw) != HS_SUCCESS) {
        throw std::bad_alloc();
      }
      scratch.reset(raw);
      prepared[next++ % prepared.size()] = serial;
    }
    return scratch.get();
  }
};

struct ScanState {
  void* context;
  void (*callback)(unsigned, void*);
};

int on_hyperscan_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
  auto* state = static_cast<ScanState*>(ctx);
  state->callback(id, state->context);
  return 0;
}

std::atomic<std::uint64_t> next_serial{1};

}  // namespace

void PatternSet::Free::operator()(hs_database* database) const {
  hs_free_database(database);
}

PatternSet::PatternSet(const std::vector<PatternSource>& patterns)
    : serial_(next_serial.fetch_add(1)) {
  if (patterns.empty()) {
    return;
  }
  std::vector<const char*> expressions;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    expressions.push_back(patterns[i].expression.c_str());
    // SINGLEMATCH: each id is reported at most once a scan; we ask whether, not where.
    flags.push_back(HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY |
                    (patterns[i].caseless ? HS_FLAG_CASELESS : 0U));
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                       static_cast<unsigned>(expressions.size()), HS_MODE_BLOCK, nullptr, &database,
                       &error) != HS_SUCCESS) {
    std::string message = error != nullptr ? error->message : "unknown Hyperscan error";
    int index = error != nullptr ? error->expression : -1;
    hs_free_compile_error(error);
    if (index >= 0 && static_cast<std::size_t>(index) < patterns.size()) {
      const auto& bad = patterns[static_cast<std::size_t>(index)];
      throw LoadError(bad.where, 0, "pattern \"" + bad.expression + "\": " + message);
    }
    throw LoadError("patterns", 0, message);
  }
  database_.reset(database);
}

void PatternSet::scan_impl(std::string_view text, void* context, Callback callback) const {
  thread_local ThreadScratch scratch;
  ScanState state{context, callback};
  hs_scan(database_.get(), text.data(), static_cast<unsigned>(text.size()), 0,
          scratch.for_database(database_.get(), serial_), on_hyperscan_match, &state);
}

}  // namespace hallpass::filters
