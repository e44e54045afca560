#include "filters/enforcement.hpp"

#include <algorithm>

namespace hallpass::filters {

namespace {

bool is_one_of(std::string_view host, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), host) != names.end();
}

// google.com, www.google.com and the country sites (www.google.de, google.co.uk): the
// label after "google." is a public suffix of one or two labels.
bool is_google_search(std::string_view host) {
  if (host.starts_with("www.")) {
    host.remove_prefix(4);
  }
  if (!host.starts_with("google.")) {
    return false;
  }
  auto suffix = host.substr(7);
  return !suffix.empty() && std::count(suffix.begin(), suffix.end(), '.') <= 1 &&
         suffix.size() <= 6;
}

bool is_youtube(std::string_view host) {
  return is_one_of(host,
                   {"www.youtube.com", "m.youtube.com", "youtube.com", "youtubei.googleapis.com",
                    "youtube.googleapis.com", "www.youtube-nocookie.com"});
}

bool under(std::string_view host, std::string_view domain) {
  return host == domain || (host.size() > domain.size() && host.ends_with(domain) &&
                            host[host.size() - domain.size() - 1] == '.');
}

}  // namespace

Enforcement enforcement_for(std::string_view host, SafeSearch safesearch,
                            const AccountRestrictions* accounts) {
  Enforcement out;
  if (safesearch != SafeSearch::off) {
    bool strict = safesearch == SafeSearch::strict;
    if (is_google_search(host)) {
      out.connect_via = "forcesafesearch.google.com";
    } else if (is_youtube(host)) {
      out.connect_via = strict ? "restrict.youtube.com" : "restrictmoderate.youtube.com";
      out.headers.push_back({"YouTube-Restrict", strict ? "Strict" : "Moderate"});
    } else if (is_one_of(host, {"www.bing.com", "bing.com"})) {
      out.connect_via = "strict.bing.com";
    } else if (is_one_of(host, {"duckduckgo.com", "www.duckduckgo.com"})) {
      out.connect_via = "safe.duckduckgo.com";
    }
  }
  if (accounts != nullptr) {
    if (!accounts->google_allowed_domains.empty() && under(host, "google.com")) {
      out.headers.push_back({"X-GoogApps-Allowed-Domains", accounts->google_allowed_domains});
    }
    if (!accounts->microsoft_tenants.empty() &&
        is_one_of(host,
                  {"login.microsoftonline.com", "login.microsoft.com", "login.windows.net"})) {
      out.headers.push_back({"Restrict-Access-To-Tenants", accounts->microsoft_tenants});
      if (!accounts->microsoft_context.empty()) {
        out.headers.push_back({"Restrict-Access-Context", accounts->microsoft_context});
      }
    }
  }
  return out;
}

}  // namespace hallpass::filters
