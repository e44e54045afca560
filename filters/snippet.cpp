#include "filters/snippet.hpp"

#include <algorithm>

namespace hallpass::filters {

namespace {

bool is_space(unsigned char c) {
  return c <= ' ' || c == 0x7F;
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

}  // namespace

std::string masked_snippet(std::string_view text, std::size_t end) {
  end = std::min(end, text.size());
  auto start = end > kSnippetBytes ? end - kSnippetBytes : 0;
  // Never start inside a UTF-8 character, nor show a word cut in half at the front.
  while (start < end && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
    ++start;
  }
  std::string out(text.substr(start, end - start));
  std::size_t word = 0;
  for (std::size_t i = 0; i <= out.size(); ++i) {
    if (i < out.size() && !is_space(static_cast<unsigned char>(out[i]))) {
      continue;
    }
    auto token = std::string_view(out).substr(word, i - word);
    bool email = token.find('@') != std::string_view::npos;
    for (auto j = word; j < i; ++j) {
      auto c = static_cast<unsigned char>(out[j]);
      if (email && is_alnum(c)) {
        out[j] = '*';
      } else if (is_digit(c)) {
        out[j] = '#';
      }
    }
    if (i < out.size()) {
      out[i] = ' ';  // newlines and tabs between fields read as one line
    }
    word = i + 1;
  }
  return out;
}

}  // namespace hallpass::filters
