#include "filters/registrable_domain.hpp"

#include <libpsl.h>

#include <string>

#include "filters/ip_address.hpp"

namespace hallpass::filters {

namespace {

// Loaded once and only read afterwards (libpsl contexts are immutable), so every worker
// thread shares it. psl_latest prefers the system list (Debian's `publicsuffix`, updated
// with the OS) over the copy built into the library, whichever is newer.
const psl_ctx_t* suffix_list() {
  static const psl_ctx_t* list = [] {
    const psl_ctx_t* latest = psl_latest(nullptr);
    return latest != nullptr ? latest : psl_builtin();
  }();
  return list;
}

}  // namespace

std::string_view registrable_domain(std::string_view host) {
  const psl_ctx_t* list = suffix_list();
  // The list's default rule would make "0.1" the site of 127.0.0.1.
  if (list == nullptr || host.empty() || host.size() > 253 || IpAddress::parse(host)) {
    return host;
  }
  // libpsl wants a C string; host names are short, so this stays in the small buffer.
  thread_local std::string text;
  text.assign(host);
  const char* found = psl_registrable_domain(list, text.c_str());
  if (found == nullptr) {
    return host;
  }
  return host.substr(static_cast<std::size_t>(found - text.c_str()));
}

bool same_site(std::string_view a, std::string_view b) {
  return registrable_domain(a) == registrable_domain(b);
}

}  // namespace hallpass::filters
