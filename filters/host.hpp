// Host names as the policy compares them: lower case, no trailing dot, IPv6 without
// brackets. Everything that reaches a domain lookup goes through normalize_host first, so
// "BLOCKED.test." and "blocked.test" can never be told apart by a rule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hallpass::filters {

// Returns nullopt for a host no client could legitimately send (empty, spaces, control
// bytes, characters outside letters, digits, '-', '_', '.', or an IPv6 literal).
std::optional<std::string> normalize_host(std::string_view host);

// The same into `out` (its capacity reused); false when refused. For bulk list loading.
bool normalize_host(std::string_view host, std::string& out);

// Splits "host:port" / "[v6]:port" / "host". Port 0 when absent; nullopt when malformed.
struct HostPort {
  std::string_view host;
  std::uint16_t port = 0;
};
std::optional<HostPort> split_host_port(std::string_view authority);

}  // namespace hallpass::filters
