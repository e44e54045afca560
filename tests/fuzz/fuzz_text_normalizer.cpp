// Content patterns with `normalize: true` are written against the normalizer's output, and
// a student controls where a body is cut (and so where the normalizer's eight-byte fast
// path lines up). The output must not depend on the pieces, must keep the promises in
// text_normalizer.hpp (never longer, lower case, single spaces), and a normalizer must be
// as good as new after finish(). Not idempotent by design: "1!a" gives "1ia", then "iia".
//
// Input: byte 0 picks where the text is cut in two; the rest is the text.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "filters/text_normalizer.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using hallpass::filters::TextNormalizer;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto whole = TextNormalizer::normalize(text);
  FUZZ_CHECK(whole.size() <= text.size());
  FUZZ_CHECK(std::none_of(whole.begin(), whole.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  FUZZ_CHECK(
      std::none_of(whole.begin(), whole.end(), [](char c) { return c != ' ' && is_space(c); }));
  FUZZ_CHECK(whole.find("  ") == std::string::npos);
  FUZZ_CHECK(whole.empty() || whole.front() != ' ');

  TextNormalizer normalizer;
  std::string split;
  auto cut = text.size() * data[0] / 256;
  normalizer.feed(text.substr(0, cut), split);
  normalizer.feed(text.substr(cut), split);
  normalizer.finish(split);
  FUZZ_CHECK(split == whole);

  // The same object again, one byte at a time: no fast path, and no state left from above.
  std::string bytewise;
  for (char c : text) {
    normalizer.feed(std::string_view(&c, 1), bytewise);
  }
  normalizer.finish(bytewise);
  FUZZ_CHECK(bytewise == whole);
  return 0;
}
