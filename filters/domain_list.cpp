#include "filters/domain_list.hpp"

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

}  // namespace

std::size_t load_domain_list(std::string_view text, const std::string& file, CategoryId category,
                             DomainTable& table) {
  std::size_t added = 0;
  int line_number = 0;
  // UT1 lines average ~16 bytes: reserving up front saves rehashing millions of entries.
  table.reserve(text.size() / 16, text.size());
  std::string domain;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (auto hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) {
      continue;
    }
    // squidGuard accepts ".example.com" for "example.com and below": same meaning here.
    if (line.front() == '.') {
      line.remove_prefix(1);
    }
    if (!normalize_host(line, domain)) {
      throw LoadError(file, line_number, "not a domain: \"" + std::string(line) + "\"");
    }
    table.insert(domain, category);
    ++added;
  }
  return added;
}

}  // namespace hallpass::filters
