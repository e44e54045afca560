#include "filters/types.hpp"

namespace hallpass::filters {

std::string_view to_string(Action action) {
  return action == Action::block ? "block" : "allow";
}

std::string_view to_string(Role role) {
  return role == Role::staff ? "staff" : "student";
}

std::string_view to_string(Step step) {
  switch (step) {
    case Step::building_allow:
      return "building_allow";
    case Step::building_block:
      return "building_block";
    case Step::approved:
      return "approved";
    case Step::anonymizer:
      return "anonymizer";
    case Step::social_function:
      return "social_function";
    case Step::category:
      return "category";
    case Step::policy_default:
      return "policy_default";
    case Step::content:
      return "content";
  }
  return "unknown";
}

}  // namespace hallpass::filters
