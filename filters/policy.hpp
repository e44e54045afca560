// The compiled, immutable policy snapshot. Built once per load or reload, then only read:
// connections pin a shared_ptr<const Policy> for their lifetime, so decide() needs no lock.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "filters/anonymizer_detector.hpp"
#include "filters/content_scanner.hpp"
#include "filters/domain_table.hpp"
#include "filters/enforcement.hpp"
#include "filters/function_catalog.hpp"
#include "filters/policy_spec.hpp"
#include "filters/types.hpp"
#include "filters/url_rules.hpp"

namespace hallpass::filters {

// The precedence steps decide() tried, in plain words, for `hallpass check --explain`.
struct Trace {
  std::vector<std::pair<Step, std::string>> steps;
};

class Policy {
 public:
  struct Counts {
    std::size_t categories = 0;
    std::size_t list_domains = 0;
    std::size_t buildings = 0;
    std::size_t profiles = 0;
    std::size_t function_rules = 0;
    std::size_t signatures = 0;
    std::size_t url_rules = 0;
  };

  // Compiles `spec`; throws LoadError naming the file and line of the first problem.
  static std::shared_ptr<const Policy> build(const PolicySpec& spec, const ReadFile& read);

  bool client_allowed(const IpAddress& address) const;
  // Longest matching building network wins; no match is `default` as a student.
  Client identify(const IpAddress& address) const;
  Decision decide(const Client& client, const Request& request, Trace* trace = nullptr) const;
  // SafeSearch and account restrictions for an allowed request to `host` (normalized).
  Enforcement enforcement(const Client& client, std::string_view host) const;
  // Transparent mode: a request whose Host does not live at the address the client was
  // going to (the classic bypass: an allowed name sent to a blocked server's address).
  Decision host_mismatch(const Client& client) const;
  // A CONNECT's first bytes, judged after the tunnel's host was allowed: tunnelling checks
  // (not TLS, no server name, domain fronting) are anonymizer detections at step 4, so only
  // a building's own `allow` entry for the CONNECT host outranks them; otherwise the
  // decision is decide() again on the server name.
  Decision decide_tunnel(const Client& client, const Request& connect, const TunnelHello& hello,
                         Trace* trace = nullptr) const;
  // Whether an allowed tunnel to `host` is decrypted, and the policy's HTTPS settings.
  TlsPlan tls_plan(const Client& client, std::string_view host) const;
  // The content pattern sets, compiled once for this snapshot; a body is scanned with a
  // ContentScanner::Scan over it, then judged by the client's policy thresholds.
  const ContentScanner& content_scanner() const { return *content_; }
  ContentVerdict content_verdict(const Client& client, const ContentScanner::Scan& scan) const;
  // Whether content can block this client's request, so bodies are held: a content threshold
  // of its policy blocks, or its `on_oversize` does.
  bool content_can_block(const Client& client) const;
  // Whether a body that could not be judged in time is blocked (`on_oversize: block`).
  bool blocks_unjudged(const Client& client) const;
  // The request's decision once its content is known: a URL block stands (the content's
  // flags are still reported beside it); otherwise a content block, alert or flag decides.
  static Decision with_content(Decision decision, const ContentVerdict& verdict);

  std::string_view building_name(std::uint16_t index) const { return buildings_[index].name; }
  const AuthSpec& auth() const { return auth_; }
  const UserSpec* find_user(std::string_view name) const;
  const std::vector<std::string>& categories() const { return categories_; }
  const FunctionCatalog& functions() const { return functions_; }
  Counts counts() const;
  // Domains each category's lists hold, by CategoryId (names in categories()).
  const std::vector<std::size_t>& list_domains_by_category() const { return list_domains_; }

 private:
  using Actions = std::vector<std::optional<CategoryAction>>;  // by CategoryId
  struct Schedule {
    std::string name;
    std::uint8_t days;
    std::int16_t from;
    std::int16_t to;
    Actions category_action;
    bool in_force(LocalTime when) const {
      return when.weekday >= 0 && ((days >> when.weekday) & 1U) && when.minute >= from &&
             when.minute < to;
    }
  };
  struct Profile {
    std::string name;
    Action default_action = Action::allow;
    Actions category_action;
    SafeSearch safesearch = SafeSearch::off;
    bool restrict_accounts = false;
    std::vector<Schedule> schedules = {};
    std::vector<bool> inspect_category = {};  // by CategoryId
    bool inspect_social_functions = false;    // hosts the function catalog names
    DomainTable inspect_domains = {};
    TlsSettings tls = {};
    std::vector<ContentThresholds> content = {};  // by content category
    Action on_oversize = Action::allow;
  };
  struct Building {
    std::string name;
    std::uint16_t profile_for_role[2] = {0, 0};  // indexed by Role
    DomainTable allow;
    DomainTable block;
  };
  struct Network {
    IpNetwork network;
    std::uint16_t building;
    Role role;
  };
  class Evaluation;

  const Profile& profile_for(const Client& client) const;
  void resolve_inspect(Profile& profile, const ProfileSpec& spec) const;
  void resolve_content(Profile& profile, const ProfileSpec& spec,
                       const std::vector<ContentThresholds>& district) const;
  std::vector<ContentThresholds> district_thresholds(const PolicySpec& spec) const;

  CategoryId category_id(const std::string& name);
  Actions resolve_actions(const std::vector<std::pair<std::string, CategoryAction>>& named,
                          const SourceLocation& where, const std::string& owner) const;

  std::vector<IpNetwork> clients_;
  AuthSpec auth_;
  std::vector<Network> networks_;  // sorted by prefix, longest first
  std::vector<std::string> categories_;
  std::optional<CategoryId> anonymizer_;  // the `anonymizer` category, when there is one
  DomainTable lists_;
  std::vector<std::size_t> list_domains_;  // by CategoryId
  UrlRules url_rules_;
  DomainTable approved_;
  DomainTable never_inspect_;
  AccountRestrictions accounts_;
  FunctionCatalog functions_;
  std::vector<CategoryId> function_category_;  // by function rule index
  AnonymizerDetector detector_;
  std::shared_ptr<const ContentScanner> content_ = std::make_shared<const ContentScanner>();
  std::vector<Profile> profiles_;
  std::vector<Building> buildings_;  // [0] is `default`
};

}  // namespace hallpass::filters
