// What an allowed request must carry: SafeSearch and YouTube Restricted Mode, and the
// account restrictions that keep district sign-ins on district accounts. Providers
// document two mechanisms: for a tunnel, connect to their enforcement host instead (the
// TLS name stays the same, so nothing is decrypted); for plain or intercepted HTTP, set
// their request headers. Client-supplied copies of those headers are always removed, so
// a student cannot choose a weaker restriction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hallpass::filters {

enum class SafeSearch : std::uint8_t { off, moderate, strict };

struct AccountRestrictions {
  std::string google_allowed_domains;  // X-GoogApps-Allowed-Domains value, empty: off
  std::string microsoft_tenants;       // Restrict-Access-To-Tenants value
  std::string microsoft_context;       // Restrict-Access-Context (the district's tenant id)
};

struct HeaderToSet {
  std::string_view name;
  std::string_view value;
};

struct Enforcement {
  std::string_view connect_via;  // enforcement host for CONNECT, empty: the requested host
  std::vector<HeaderToSet> headers;
};

// Header names Hallpass owns on the way upstream: removed from every request first.
inline constexpr std::string_view kEnforcementHeaders[] = {
    "YouTube-Restrict", "X-GoogApps-Allowed-Domains", "Restrict-Access-To-Tenants",
    "Restrict-Access-Context"};

// `host` is normalized. `accounts` is null when the profile does not restrict accounts.
Enforcement enforcement_for(std::string_view host, SafeSearch safesearch,
                            const AccountRestrictions* accounts);

}  // namespace hallpass::filters
