// The request path as rules see it. "/direct/", "//direct/", "/x/../direct/" and
// "/%64irect/" all reach the same handler on the server, so they must reach the same rule.
// Used for matching only: the request is forwarded exactly as the client sent it.
#pragma once

#include <string>
#include <string_view>

namespace hallpass::filters {

// Percent-decodes unreserved characters (RFC 3986 §2.3), removes dot segments (§5.2.4),
// collapses repeated slashes; the query is kept with only its unreserved escapes decoded.
std::string normalize_path(std::string_view path_and_query);

// The same into `out`, reusing its capacity (the per-request path allocates nothing).
void normalize_path(std::string_view path_and_query, std::string& out);

}  // namespace hallpass::filters
