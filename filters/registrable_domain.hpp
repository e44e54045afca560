// The registrable domain ("eTLD+1") of a host, from the Public Suffix List: what a site
// owner controls. Domain fronting is told by it: a CONNECT to cdn.example.com whose TLS
// names www.example.com is one site; one whose TLS names blocked.test is two.
#pragma once

#include <string_view>

namespace hallpass::filters {

// `host` is normalized (lower case, punycode, no trailing dot). Returns a view into `host`:
// its registrable domain, or the host itself when it has none (an IP literal, a public
// suffix, a single label).
std::string_view registrable_domain(std::string_view host);

// Whether two normalized hosts belong to the same registrable domain.
bool same_site(std::string_view a, std::string_view b);

}  // namespace hallpass::filters
