// Invariant checks for the fuzz targets. A failed check aborts like a sanitizer report, so
// libFuzzer keeps the input as a crash artifact: the targets find wrong answers, not only
// memory errors. Unlike assert() it stays on whatever the build type.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace hallpass::fuzz {

[[noreturn]] inline void invariant_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "==HALLPASS FUZZ INVARIANT== %s:%d: %s\n", file, line, condition);
  std::abort();
}

}  // namespace hallpass::fuzz

#define FUZZ_CHECK(condition)         \
  ((condition) ? static_cast<void>(0) \
               : ::hallpass::fuzz::invariant_failed(#condition, __FILE__, __LINE__))
