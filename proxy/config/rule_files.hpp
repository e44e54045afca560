// Reads the shipped (or district-written) rule files named under `rules:`: social-platform
// function rules (`platforms:`) and anonymizer signatures (`signatures:`), with the
// examples the test suite runs.
#pragma once

#include <string>

#include "filters/policy_spec.hpp"

namespace hallpass::config {

// Appends the rules of the YAML file at `path` to `spec`. Throws LoadError (file:line).
void load_rule_file(const std::string& path, filters::PolicySpec& spec);

}  // namespace hallpass::config
