// Reads the content pattern sets named under `content.patterns:` (filters/patterns/*.yaml):
// one category per file, each pattern with its regex, flags, weight, severity and the
// examples the test suite runs.
#pragma once

#include <string>
#include <vector>

#include "filters/content_types.hpp"

namespace hallpass::config {

// Appends the patterns of the YAML file at `path`. Throws LoadError (file:line).
void load_content_file(const std::string& path, std::vector<filters::ContentPatternSpec>& out);

}  // namespace hallpass::config
