// The few words around a content match that an audit line shows a reviewer, with personal
// data masked: digits become '#' and an e-mail address keeps only its '@' and dots. A
// reviewer sees "call me at ###-###-####", never the number; the full body is never kept.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hallpass::filters {

inline constexpr std::size_t kSnippetBytes = 48;

// The masked text of up to kSnippetBytes ending at `end` in `text`.
std::string masked_snippet(std::string_view text, std::size_t end);

}  // namespace hallpass::filters
