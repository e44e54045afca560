#include "filters/text_normalizer.hpp"

#include <array>
#include <cstdint>
#include <utility>

namespace hallpass::filters {

namespace {

enum : std::uint8_t { kOther = 0, kLetter = 1, kSpace = 2, kLeet = 4, kSeparator = 8 };

struct Tables {
  std::array<std::uint8_t, 256> kind{};
  std::array<char, 256> folded{};  // lower case for letters, the letter for leet characters
  Tables() {
    for (int c = 0; c < 256; ++c) {
      folded[c] = static_cast<char>(c);
    }
    for (int c = 'a'; c <= 'z'; ++c) {
      kind[c] = kLetter;
      kind[c - 32] = kLetter;
      folded[c - 32] = static_cast<char>(c);
    }
    for (unsigned char c : {' ', '\t', '\n', '\r', '\f', '\v'}) {
      kind[c] = kSpace;
    }
    for (auto [c, letter] : {std::pair{'0', 'o'},
                             {'1', 'i'},
                             {'!', 'i'},
                             {'3', 'e'},
                             {'4', 'a'},
                             {'@', 'a'},
                             {'5', 's'},
                             {'$', 's'},
                             {'7', 't'}}) {
      kind[static_cast<unsigned char>(c)] = kLeet;
      folded[static_cast<unsigned char>(c)] = letter;
    }
    for (unsigned char c : {'.', '-', '_', '*'}) {
      kind[c] = kSeparator;
    }
  }
};

const Tables& tables() {
  static const Tables built;
  return built;
}

}  // namespace

// One pass over the bytes with a table per byte; the output is written through a pointer
// into space reserved up front (it is never longer than the input).
void TextNormalizer::decide(std::size_t size, std::string& out) {
  const auto& t = tables();
  auto letter = [&](unsigned char c) { return t.kind[c] == kLetter; };
  const auto* in = reinterpret_cast<const unsigned char*>(scratch_.data());
  std::size_t start = out.size();
  out.resize(start + size);
  char* w = out.data() + start;
  unsigned char before = before_;
  for (std::size_t i = 0; i < size; ++i) {
    unsigned char c = in[i];
    unsigned char next = in[i + 1];
    unsigned char after = in[i + 2];
    switch (t.kind[c]) {
      case kLetter:
        *w++ = t.folded[c];
        previous_is_letter_ = true;
        previous_is_space_ = false;
        break;
      case kSpace:
        if (!previous_is_space_) {
          *w++ = ' ';
        }
        previous_is_space_ = true;
        previous_is_letter_ = false;
        break;
      case kLeet:
        previous_is_space_ = false;
        if (letter(before) || letter(next)) {
          *w++ = t.folded[c];
          previous_is_letter_ = true;
        } else {
          *w++ = static_cast<char>(c);
          previous_is_letter_ = false;
        }
        break;
      case kSeparator:
        previous_is_space_ = false;
        // Rule 2 for the byte after this one decides whether this one sits between letters.
        if (previous_is_letter_ && (letter(next) || (t.kind[next] == kLeet && letter(after)))) {
          break;  // dropped; the letter before it still counts as the previous one
        }
        *w++ = static_cast<char>(c);
        previous_is_letter_ = false;
        break;
      default:
        *w++ = static_cast<char>(c);
        previous_is_letter_ = false;
        previous_is_space_ = false;
    }
    before = c;
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
  before_ = before;
}

void TextNormalizer::feed(std::string_view chunk, std::string& out) {
  // scratch_ holds the two bytes still waiting from the last piece, then this piece, then
  // two zero bytes that stand for "not known yet" (zero is never a letter).
  std::size_t held = scratch_.size() >= 2 ? scratch_.size() - 2 : 0;
  scratch_.resize(held);
  scratch_.append(chunk);
  std::size_t size = scratch_.size();
  scratch_.append(2, '\0');
  if (size <= 2) {
    scratch_.resize(size + 2);
    return;
  }
  decide(size - 2, out);
  scratch_.erase(0, size - 2);  // keeps the two undecided bytes and the two zeros
}

void TextNormalizer::finish(std::string& out) {
  std::size_t held = scratch_.size() >= 2 ? scratch_.size() - 2 : 0;
  if (held > 0) {
    decide(held, out);
  }
  scratch_.clear();
  before_ = 0;
  previous_is_letter_ = false;
  previous_is_space_ = true;
}

std::string TextNormalizer::normalize(std::string_view text) {
  TextNormalizer normalizer;
  std::string out;
  normalizer.feed(text, out);
  normalizer.finish(out);
  return out;
}

}  // namespace hallpass::filters
