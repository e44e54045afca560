// The line format every list file shares (UT1 `domains` and `urls`, Hallpass `patterns`):
// one entry a line, surrounding blanks and CR ignored, empty lines skipped.
#pragma once

#include <string_view>

namespace hallpass::filters {

inline std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Calls each(line_number, line) for every line that is not empty once trimmed.
// `strip_comments`: a `#` anywhere starts a comment (domains, urls); otherwise only a
// line starting with `#` is one (patterns, where `#` may be part of an expression).
template <typename Each>
void for_each_list_line(std::string_view text, bool strip_comments, Each&& each) {
  int number = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (strip_comments) {
      line = line.substr(0, line.find('#'));
    }
    line = trim_blanks(line);
    if (!line.empty() && (strip_comments || line.front() != '#')) {
      each(number, line);
    }
  }
}

}  // namespace hallpass::filters
