// Undoes the common ways students dodge word filters before content patterns look at text:
// case, leetspeak digits inside words ("k1ll"), separators between letters ("s.u.i.c.i.d.e")
// and runs of spaces. Streaming: a body arrives in chunks, and a word may straddle two, so
// the normalizer holds back the two bytes whose fate depends on what follows.
//
// The rules (pattern files with `normalize: true` are written against their output):
//   1. ASCII letters are lower-cased.
//   2. 0→o 1→i 3→e 4→a 5→s 7→t @→a $→s !→i when a letter is right before or right after.
//   3. '.', '-', '_' or '*' between two letters (after rule 2) is dropped.
//   4. A run of whitespace becomes one space.
// Digits among digits stay digits, so "2024" or "617-555-0123" are untouched.
#pragma once

#include <string>
#include <string_view>

namespace hallpass::filters {

class TextNormalizer {
 public:
  // Appends the normalized form of what can be decided so far to `out`.
  void feed(std::string_view chunk, std::string& out);
  // The end of the text: flushes what was held back and resets for the next text.
  void finish(std::string& out);

  // The whole of `text` at once, for tests and `hallpass check`.
  static std::string normalize(std::string_view text);

 private:
  // Decides bytes [0, size - 2) of scratch_ (the two last ones wait for what follows).
  void decide(std::size_t size, std::string& out);

  std::string scratch_;              // held bytes + the new piece, reused
  unsigned char before_ = 0;         // the byte before scratch_[0] (0: none)
  bool previous_is_letter_ = false;  // the last byte kept, after rule 2, was a letter
  bool previous_is_space_ = true;    // so leading whitespace collapses too
};

}  // namespace hallpass::filters
