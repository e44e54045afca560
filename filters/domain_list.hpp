// Reads a squidGuard/UT1 `domains` file: one domain a line, `#` comments, blank lines.
#pragma once

#include <string>
#include <string_view>

#include "filters/domain_table.hpp"

namespace hallpass::filters {

// Adds every domain of `text` to `table` under `category`. Throws LoadError naming `file`,
// the line and the offending text for a line that is not a domain.
std::size_t load_domain_list(std::string_view text, const std::string& file, CategoryId category,
                             DomainTable& table);

}  // namespace hallpass::filters
