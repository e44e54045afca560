#include "filters/pattern_set.hpp"

#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <utility>

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
  PatternSet::Callback callback;
};

int on_hyperscan_match(unsigned id, unsigned long long, unsigned long long to, unsigned,
                       void* ctx) {
  auto* state = static_cast<ScanState*>(ctx);
  state->callback(id, to, state->context);
  return 0;
}

std::atomic<std::uint64_t> next_serial{1};

ThreadScratch& thread_scratch() {
  thread_local ThreadScratch scratch;
  return scratch;
}

unsigned hyperscan_flags(const PatternSource& pattern) {
  // SINGLEMATCH: each id is reported at most once a scan; we ask whether, not where.
  return HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY | (pattern.caseless ? HS_FLAG_CASELESS : 0U) |
         (pattern.dotall ? HS_FLAG_DOTALL : 0U) | (pattern.multiline ? HS_FLAG_MULTILINE : 0U) |
         (pattern.utf8 ? HS_FLAG_UTF8 : 0U) | (pattern.ucp ? HS_FLAG_UCP : 0U);
}

}  // namespace

void PatternSet::Free::operator()(hs_database* database) const {
  hs_free_database(database);
}

PatternSet::PatternSet(const std::vector<PatternSource>& patterns, Mode mode)
    : serial_(next_serial.fetch_add(1)) {
  if (patterns.empty()) {
    return;
  }
  std::vector<const char*> expressions;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    expressions.push_back(patterns[i].expression.c_str());
    flags.push_back(hyperscan_flags(patterns[i]));
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                       static_cast<unsigned>(expressions.size()),
                       mode == Mode::stream ? HS_MODE_STREAM : HS_MODE_BLOCK, nullptr, &database,
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
  ScanState state{context, callback};
  hs_scan(database_.get(), text.data(), static_cast<unsigned>(text.size()), 0,
          thread_scratch().for_database(database_.get(), serial_), on_hyperscan_match, &state);
}

PatternSet::Stream PatternSet::open_stream() const {
  Stream stream;
  if (database_ && hs_open_stream(database_.get(), 0, &stream.stream_) == HS_SUCCESS) {
    stream.set_ = this;
  }
  return stream;
}

PatternSet::Stream::Stream(Stream&& other) noexcept
    : set_(std::exchange(other.set_, nullptr)), stream_(std::exchange(other.stream_, nullptr)) {}

PatternSet::Stream& PatternSet::Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (stream_ != nullptr) {
      hs_close_stream(stream_, nullptr, nullptr, nullptr);
    }
    set_ = std::exchange(other.set_, nullptr);
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}

PatternSet::Stream::~Stream() {
  if (stream_ != nullptr) {
    hs_close_stream(stream_, nullptr, nullptr, nullptr);  // no scratch: no callbacks
  }
}

void PatternSet::Stream::feed_impl(std::string_view piece, void* context,
                                   PatternSet::Callback callback) {
  ScanState state{context, callback};
  hs_scan_stream(stream_, piece.data(), static_cast<unsigned>(piece.size()), 0,
                 thread_scratch().for_database(set_->database_.get(), set_->serial_),
                 on_hyperscan_match, &state);
}

void PatternSet::Stream::close_impl(void* context, PatternSet::Callback callback) {
  ScanState state{context, callback};
  hs_close_stream(stream_, thread_scratch().for_database(set_->database_.get(), set_->serial_),
                  on_hyperscan_match, &state);
  stream_ = nullptr;
  set_ = nullptr;
}

}  // namespace hallpass::filters
