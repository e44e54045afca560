#include "filters/domain_list.hpp"

#include "filters/host.hpp"
#include "filters/list_lines.hpp"
#include "filters/load_error.hpp"

namespace hallpass::filters {

std::size_t load_domain_list(std::string_view text, const std::string& file, CategoryId category,
                             DomainTable& table) {
  std::size_t added = 0;
  // UT1 lines average ~16 bytes: reserving up front saves rehashing millions of entries.
  table.reserve(text.size() / 16, text.size());
  std::string domain;
  for_each_list_line(text, true, [&](int number, std::string_view line) {
    // squidGuard accepts ".example.com" for "example.com and below": same meaning here.
    if (line.front() == '.') {
      line.remove_prefix(1);
    }
    if (!normalize_host(line, domain)) {
      throw LoadError(file, number, "not a domain: \"" + std::string(line) + "\"");
    }
    table.insert(domain, category);
    ++added;
  });
  return added;
}

}  // namespace hallpass::filters
