#include "filters/text_normalizer.hpp"

#include <array>
#include <cstdint>
#include <cstring>
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

constexpr std::uint64_t kEach = 0x0101010101010101ULL;  // one in each byte
constexpr std::uint64_t kHigh = 0x80 * kEach;

// Eight bytes at once: when every one is an ASCII letter or a space and no two spaces are
// adjacent, no rule but case applies and the output is the bytes lower-cased. Returns the
// mask of letters (0x80 in each letter byte) or 0 when the word does not qualify.
std::uint64_t plain_letters(std::uint64_t bytes) {
  if ((bytes & kHigh) != 0) {
    return 0;
  }
  std::uint64_t lower = bytes | (0x20 * kEach);  // upper-case letters become lower-case
  // Each byte is below 0x80 here, so these sums never carry into the next byte.
  std::uint64_t from_a = (lower + (0x80 - 'a') * kEach) & kHigh;
  std::uint64_t past_z = (lower + (0x80 - 'z' - 1) * kEach) & kHigh;
  std::uint64_t letters = from_a & ~past_z;
  std::uint64_t not_space = bytes ^ (' ' * kEach);
  std::uint64_t spaces = ~(((not_space & ~kHigh) + ~kHigh) | not_space) & kHigh;
  if ((letters | spaces) != kHigh || (spaces & (spaces << 8)) != 0) {
    return 0;
  }
  return letters;
}

}  // namespace

// One pass over the bytes with a table per byte; the output is written through a pointer
// into space reserved up front (it is never longer than the input). The state lives in
// locals while the loop runs: stores through `char*` may alias anything, so members and
// table references would be reloaded on every byte. Plain words (letters and single
// spaces), by far the most common bytes, are copied eight at a time; other runs of letters
// take a short inner loop of their own.
void TextNormalizer::decide(std::size_t size, std::string& out) {
  const auto& t = tables();
  const std::uint8_t* kind = t.kind.data();
  const char* folded = t.folded.data();
  auto letter = [kind](unsigned char c) { return kind[c] == kLetter; };
  const auto* in = reinterpret_cast<const unsigned char*>(scratch_.data());
  std::size_t start = out.size();
  out.resize(start + size);
  char* w = out.data() + start;
  unsigned char before = before_;
  bool previous_is_letter = previous_is_letter_;
  bool previous_is_space = previous_is_space_;
  std::size_t i = 0;
  while (i < size) {
    while (i + 8 <= size) {
      std::uint64_t bytes;
      std::memcpy(&bytes, in + i, 8);
      std::uint64_t letters = plain_letters(bytes);
      if (letters == 0 || (previous_is_space && in[i] == ' ')) {
        break;
      }
      bytes |= letters >> 2;  // 0x80 >> 2 is the case bit
      std::memcpy(w, &bytes, 8);
      w += 8;
      i += 8;
      previous_is_space = in[i - 1] == ' ';
      previous_is_letter = !previous_is_space;
      before = in[i - 1];
    }
    if (i == size) {
      break;
    }
    unsigned char c = in[i];
    if (kind[c] == kLetter) {
      do {
        *w++ = folded[c];
        c = in[++i];
      } while (i < size && kind[c] == kLetter);
      before = in[i - 1];
      previous_is_letter = true;
      previous_is_space = false;
      continue;
    }
    unsigned char next = in[i + 1];
    unsigned char after = in[i + 2];
    switch (kind[c]) {
      case kSpace:
        if (!previous_is_space) {
          *w++ = ' ';
        }
        previous_is_space = true;
        previous_is_letter = false;
        break;
      case kLeet:
        previous_is_space = false;
        if (letter(before) || letter(next)) {
          *w++ = folded[c];
          previous_is_letter = true;
        } else {
          *w++ = static_cast<char>(c);
          previous_is_letter = false;
        }
        break;
      case kSeparator:
        previous_is_space = false;
        // Rule 2 for the byte after this one decides whether this one sits between letters.
        if (previous_is_letter && (letter(next) || (kind[next] == kLeet && letter(after)))) {
          break;  // dropped; the letter before it still counts as the previous one
        }
        *w++ = static_cast<char>(c);
        previous_is_letter = false;
        break;
      default:
        *w++ = static_cast<char>(c);
        previous_is_letter = false;
        previous_is_space = false;
    }
    before = c;
    ++i;
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
  before_ = before;
  previous_is_letter_ = previous_is_letter;
  previous_is_space_ = previous_is_space;
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
