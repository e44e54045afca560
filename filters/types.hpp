// The values that flow through a decision: who asks, what they ask for, what was decided.
// Plain data with no I/O so that `hallpass check` and the proxy share them exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "filters/ip_address.hpp"

namespace hallpass::filters {

enum class Action : std::uint8_t { allow, block };
enum class Role : std::uint8_t { student, staff };

// The precedence steps of DESIGN.md, in order; a Decision names the one that decided.
enum class Step : std::uint8_t {
  building_allow,
  building_block,
  approved,
  anonymizer,
  social_function,
  category,
  policy_default,
  content,  // after the URL allowed it: what the request carried (content pattern sets)
};

std::string_view to_string(Action action);
std::string_view to_string(Role role);
std::string_view to_string(Step step);

struct Client {
  IpAddress address;
  std::uint16_t building = 0;  // index into Policy::buildings(); 0 is `default`
  Role role = Role::student;
};

// Local wall-clock time as schedules see it (the district's time zone is the gateway's).
struct LocalTime {
  std::int8_t weekday = -1;  // 0 Monday … 6 Sunday; -1: unknown, no schedule applies
  std::int16_t minute = 0;   // minutes since midnight
};

struct Request {
  std::string_view method;  // as sent: "GET", "CONNECT", ...
  std::string_view host;    // normalized (see host.hpp)
  std::uint16_t port = 80;
  std::string_view path;               // origin-form target ("/a?b"), empty for CONNECT
  std::string_view content_type = {};  // request header values, empty when absent
  std::string_view accept = {};
  LocalTime when = {};
};

// A policy's HTTPS settings for one client.
enum class InspectFailure : std::uint8_t { block, splice };
struct TlsSettings {
  Action no_sni = Action::block;  // a ClientHello without a server name (or an IP literal)
  InspectFailure on_inspect_failure = InspectFailure::block;
  bool block_page = true;  // a blocked tunnel is answered inside TLS with the block page
};

// What an allowed tunnel's destination calls for.
struct TlsPlan {
  bool inspect = false;  // decrypt: listed under the policy's `inspect`, not `never_inspect`
  TlsSettings settings;
};

// What the first bytes of a tunnel said (read by proxy/tls, judged here).
struct TunnelHello {
  bool is_tls = false;
  std::string_view server_name;  // normalized; empty when the ClientHello named none
};

// Views point into the Policy that produced the Decision; it outlives the request because
// a connection pins its policy snapshot.
struct Decision {
  Action action = Action::allow;
  Step step = Step::policy_default;
  std::string_view category;     // empty when no category decided
  std::string_view rule;         // the list entry that matched, e.g. "blocked.test"
  std::string_view reason_code;  // stable snake_case code shared by logs, pages and metrics
  std::string_view building;
  Role role = Role::student;
  bool would_block = false;   // monitor mode: allowed, but a rule in monitor mode matched
  std::string_view schedule;  // the schedule whose action decided, when one was in force
  bool flagged = false;       // content reached a `flag` threshold: allowed and recorded
  bool alert = false;         // content reached an `alert` threshold: page a person
};

}  // namespace hallpass::filters
