// identify() and decide(): the hot path. Reads only; allocates nothing.
#include "filters/policy.hpp"

namespace hallpass::filters {

bool Policy::client_allowed(const IpAddress& address) const {
  for (const auto& network : clients_) {
    if (network.contains(address)) {
      return true;
    }
  }
  return false;
}

Client Policy::identify(const IpAddress& address) const {
  for (const auto& entry : networks_) {
    if (entry.network.contains(address)) {
      return {address, entry.building, entry.role};
    }
  }
  // Unknown networks get the strictest treatment: the default building, as a student.
  return {address, 0, Role::student};
}

Decision Policy::decide(const Client& client, const Request& request) const {
  const Building& building = buildings_[client.building];
  auto with_identity = [&](Decision decision) {
    decision.building = building.name;
    decision.role = client.role;
    return decision;
  };
  if (auto rule = building.allow.find(request.host); !rule.empty()) {
    return with_identity({Action::allow, Step::building_allow, {}, rule, "building_allow", {}, {}});
  }
  if (auto rule = building.block.find(request.host); !rule.empty()) {
    return with_identity({Action::block, Step::building_block, {}, rule, "building_block", {}, {}});
  }
  const Profile& profile = profiles_[building.profile_for_role[static_cast<int>(client.role)]];
  return with_identity(category_decision(profile, request.host));
}

// Any matching category the profile blocks wins over ones it allows, so a domain listed as
// both "social" and "adult" is never let through by the more lenient list.
Decision Policy::category_decision(const Profile& profile, std::string_view host) const {
  Decision allowed{profile.default_action, Step::policy_default, {}, {}, "policy_default", {}, {}};
  if (profile.default_action == Action::block) {
    allowed.reason_code = "policy_default_block";
  }
  bool categorized = false;
  Decision blocked;
  bool is_blocked = false;
  lists_.for_each_match(host, [&](std::string_view entry, std::span<const CategoryId> ids) {
    for (CategoryId id : ids) {
      auto action = profile.category_action[id].value_or(profile.default_action);
      if (action == Action::block) {
        blocked = {Action::block, Step::category, categories_[id], entry, "category_block", {}, {}};
        is_blocked = true;
        return false;
      }
      if (!categorized) {
        allowed = {Action::allow, Step::category, categories_[id], entry, "category_allow", {}, {}};
        categorized = true;
      }
    }
    return true;
  });
  return is_blocked ? blocked : allowed;
}

}  // namespace hallpass::filters
