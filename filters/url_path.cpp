#include "filters/url_path.hpp"

#include "filters/hex_digit.hpp"

namespace hallpass::filters {

namespace {

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Decodes %XX when XX is an unreserved character; other escapes keep their meaning.
void decode_unreserved(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0 && is_unreserved(static_cast<char>(high * 16 + low))) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
}

// RFC 3986 §5.2.4 on a path already free of repeated slashes.
void remove_dot_segments(std::string_view path, std::string& out) {
  out.clear();
  std::size_t i = 0;
  while (i < path.size()) {
    auto end = path.find('/', i + 1);
    auto segment = path.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (segment == "/." || segment == "/..") {
      if (segment == "/..") {
        auto last = out.rfind('/');
        out.resize(last == std::string::npos ? 0 : last);
      }
      if (end == std::string_view::npos) {
        out.push_back('/');  // "/a/.." is the folder "/", not "/a"
      }
    } else {
      out.append(segment);
    }
    if (end == std::string_view::npos) {
      break;
    }
    i = end;
  }
  if (out.empty()) {
    out.push_back('/');
  }
}

}  // namespace

std::string normalize_path(std::string_view path_and_query) {
  std::string out;
  normalize_path(path_and_query, out);
  return out;
}

void normalize_path(std::string_view path_and_query, std::string& out) {
  thread_local std::string path;
  thread_local std::string collapsed;
  auto question = path_and_query.find('?');
  decode_unreserved(path_and_query.substr(0, question), path);
  collapsed.clear();
  if (path.empty() || path.front() != '/') {
    collapsed.push_back('/');
  }
  for (char c : path) {
    if (c == '/' && !collapsed.empty() && collapsed.back() == '/') {
      continue;
    }
    collapsed.push_back(c);
  }
  remove_dot_segments(collapsed, out);
  if (question != std::string_view::npos) {
    out.push_back('?');
    decode_unreserved(path_and_query.substr(question + 1), path);
    out += path;
  }
}

}  // namespace hallpass::filters
