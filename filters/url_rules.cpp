#include "filters/url_rules.hpp"

#include "filters/host.hpp"
#include "filters/load_error.hpp"

namespace hallpass::filters {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Calls each(line_number, line) for every non-empty line of `text`.
template <typename Each>
void for_each_line(std::string_view text, Each&& each) {
  int number = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (!line.empty()) {
      each(number, line);
    }
  }
}

}  // namespace

void UrlRules::load_prefixes(std::string_view text, const std::string& file, CategoryId category) {
  std::string host;
  for_each_line(text, [&](int number, std::string_view line) {
    if (auto hash = line.find('#'); hash != std::string_view::npos) {
      line = trim(line.substr(0, hash));
    }
    if (line.empty()) {
      return;
    }
    auto slash = line.find('/');
    auto host_text = line.substr(0, slash);
    if (host_text.starts_with("www.")) {
      host_text.remove_prefix(4);  // squidGuard strips it too: www.x.com/a covers x.com/a
    }
    if (!normalize_host(host_text, host)) {
      throw LoadError(file, number, "not a host/path entry: \"" + std::string(line) + "\"");
    }
    std::string path = slash == std::string_view::npos ? "/" : std::string(line.substr(slash));
    prefixes_[host].push_back({std::move(path), category, std::string(line)});
    ++prefix_count_;
  });
}

void UrlRules::load_patterns(std::string_view text, const std::string& file, CategoryId category) {
  for_each_line(text, [&](int number, std::string_view line) {
    if (line.front() == '#') {
      return;
    }
    pattern_sources_.push_back({std::string(line), true, file + ":" + std::to_string(number)});
    pattern_category_.push_back(category);
    pattern_text_.emplace_back(line);
  });
}

void UrlRules::finish() {
  patterns_ = PatternSet(pattern_sources_);
  pattern_sources_.clear();
}

}  // namespace hallpass::filters
