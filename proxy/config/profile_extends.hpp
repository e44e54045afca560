// `extends:` between policies: a policy takes everything it does not set from the policy
// it names (categories merge by name, its own winning), so a building's student policy
// can be "the district's, plus social blocked" in three lines.
#pragma once

#include "filters/policy_spec.hpp"

namespace hallpass::config {

// Replaces every profile by its resolved form. Throws LoadError naming the profile's file
// and line for an unknown base or a cycle.
void resolve_profile_extends(filters::PolicySpec& spec);

}  // namespace hallpass::config
