#include "filters/url_rules.hpp"

#include "filters/host.hpp"
#include "filters/list_lines.hpp"
#include "filters/load_error.hpp"

namespace hallpass::filters {

void UrlRules::load_prefixes(std::string_view text, const std::string& file, CategoryId category) {
  std::string host;
  for_each_list_line(text, true, [&](int number, std::string_view line) {
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
  for_each_list_line(text, false, [&](int number, std::string_view line) {
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
