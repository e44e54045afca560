// What a policy is made of, as the config states it: plain values with their source
// locations, before anything is compiled. proxy/config fills it from YAML; Policy::build
// compiles it. Keeping YAML out of filters/ keeps this library free of config formats.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "filters/content_types.hpp"
#include "filters/enforcement.hpp"
#include "filters/ip_address.hpp"
#include "filters/types.hpp"

namespace hallpass::filters {

struct FunctionRuleSpec {
  std::string id;
  std::string platform;
  std::string function;            // dm, post, comment, upload, live, view
  std::vector<std::string> hosts;  // normalized; the platform's hosts unless the rule names its own
  std::string path;                // Hyperscan regex over the normalized path; empty: whole host
  std::vector<std::string> methods;  // upper case; empty: any
  RuleExamples examples;
  SourceLocation where;
};

struct SignatureSpec {
  std::string id;
  std::string description;
  std::string url;  // Hyperscan regex over "host/path?query"
  RuleExamples examples;
  SourceLocation where;
};

struct ListSpec {
  std::string category;
  std::string folder;  // holds `domains`
  SourceLocation where;
};

// What a policy does with a category. `monitor` lets the request through but records that
// it would have been blocked, so a district can trial a rule on real traffic first.
enum class CategoryAction : std::uint8_t { allow, block, monitor };

// Category actions that replace the profile's own while the schedule is in force, e.g.
// social platforms blocked for students 07:30-14:30 on school days.
struct ScheduleSpec {
  std::string name;
  std::uint8_t days = 0;  // bit 0 Monday … bit 6 Sunday
  std::int16_t from = 0;  // minutes since midnight, inclusive
  std::int16_t to = 0;    // exclusive; from < to
  std::vector<std::pair<std::string, CategoryAction>> categories;
  SourceLocation where;
};

struct ProfileSpec {
  std::string name;
  Action default_action = Action::allow;
  std::vector<std::pair<std::string, CategoryAction>> categories;
  SafeSearch safesearch = SafeSearch::off;
  bool restrict_accounts = false;
  SourceLocation where;
  std::vector<ScheduleSpec> schedules = {};
  // HTTPS: what is decrypted (category names, or domains: names with a dot), what a client
  // that names no server gets, and what happens when decryption fails.
  std::vector<std::string> inspect = {};
  TlsSettings tls = {};
  // Content thresholds that replace the district's, by category and by key.
  std::vector<std::pair<std::string, ThresholdOverride>> content = {};
  // A body the scanner could not judge before it had to be forwarded (over the hold limit,
  // an unreadable Content-Encoding, corrupt compression): forwarded and recorded, or blocked.
  Action on_oversize = Action::allow;
  // `extends:` another policy: what this one does not set comes from there. Resolved by the
  // config loader before Policy::build; `set` records which scalar keys this one set.
  std::string extends = {};
  struct Set {
    bool default_action = false;
    bool safesearch = false;
    bool restrict_accounts = false;
    bool schedules = false;
    bool inspect = false;
    bool on_inspect_failure = false;
    bool no_sni = false;
    bool tls_block_page = false;
    bool on_oversize = false;
  } set = {};
};

struct BuildingSpec {
  std::string name;
  std::vector<std::pair<IpNetwork, Role>> networks;
  std::string student_policy;
  std::string staff_policy;
  std::vector<std::string> allow;  // normalized domains
  std::vector<std::string> block;
  SourceLocation where;
};

// A proxy-authentication user for shared machines: the role they act in, and the stored
// verifier ("pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX"), checked by the proxy.
struct UserSpec {
  std::string name;
  Role role = Role::student;
  std::string verifier;
};

struct AuthSpec {
  bool enabled = false;   // a users file is configured
  bool required = false;  // no valid credentials: 407
  std::string realm = "School proxy";
  std::vector<UserSpec> users;
};

struct PolicySpec {
  std::vector<IpNetwork> clients;
  AuthSpec auth;
  std::vector<std::string> approved;       // district-approved platforms (normalized domains)
  std::vector<std::string> never_inspect;  // never decrypted (normalized domains)
  std::vector<ContentPatternSpec> content_patterns;
  std::vector<std::pair<std::string, ContentThresholds>> content_thresholds;  // district's
  SourceLocation content_where;  // where `content:` was written, for its errors
  AccountRestrictions accounts;
  std::vector<FunctionRuleSpec> functions;
  std::vector<SignatureSpec> signatures;
  std::vector<ListSpec> lists;
  std::vector<ProfileSpec> profiles;
  std::vector<BuildingSpec> buildings;  // must include "default"
};

// Reads a list file by path; nullopt when it cannot be read. Lets the embedded default and
// real files load through the same code.
using ReadFile = std::function<std::optional<std::string>(const std::string& path)>;

}  // namespace hallpass::filters
