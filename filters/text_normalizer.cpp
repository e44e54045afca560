#include "filters/text_normalizer.hpp"

namespace hallpass::filters {

namespace {

bool is_letter(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char leet_letter(int c) {
  switch (c) {
    case '0':
      return 'o';
    case '1':
    case '!':
      return 'i';
    case '3':
      return 'e';
    case '4':
    case '@':
      return 'a';
    case '5':
    case '$':
      return 's';
    case '7':
      return 't';
    default:
      return 0;
  }
}

bool is_separator(int c) {
  return c == '.' || c == '-' || c == '_' || c == '*';
}

}  // namespace

void TextNormalizer::push(int c, std::string& out) {
  window_ = {window_[1], window_[2], window_[3], c};
  if (window_[1] != kNone) {
    decide_current(out);
  }
}

void TextNormalizer::decide_current(std::string& out) {
  const int before = window_[0];
  const int current = window_[1];
  const int next = window_[2];
  const int after_next = window_[3];
  // Rule 2 for the byte after this one, needed by rule 3.
  bool next_is_letter = is_letter(next) || (leet_letter(next) != 0 && is_letter(after_next));
  if (is_space(current)) {
    if (!previous_is_space_) {
      out += ' ';
    }
    previous_is_space_ = true;
    previous_is_letter_ = false;
    return;
  }
  previous_is_space_ = false;
  if (is_letter(current)) {
    out += static_cast<char>(current | 0x20);
    previous_is_letter_ = true;
    return;
  }
  if (char letter = leet_letter(current); letter != 0 && (is_letter(before) || is_letter(next))) {
    out += letter;
    previous_is_letter_ = true;
    return;
  }
  if (is_separator(current) && previous_is_letter_ && next_is_letter) {
    return;  // dropped; the letter before it still counts as the previous one
  }
  out += static_cast<char>(current);
  previous_is_letter_ = false;
}

void TextNormalizer::feed(std::string_view chunk, std::string& out) {
  for (unsigned char c : chunk) {
    push(c, out);
  }
}

void TextNormalizer::finish(std::string& out) {
  push(kNone, out);
  push(kNone, out);
  window_ = {kNone, kNone, kNone, kNone};
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
