// Applies one YAML document onto a Config: keys present replace, maps of named things
// (buildings, policies, lists, upstream.resolve) merge by name.
#pragma once

#include "proxy/config/config.hpp"
#include "proxy/config/yaml_values.hpp"

namespace hallpass::config {

void apply_document(Config& config, const YAML::Node& root, const YamlReader& reader);
void apply_policy_sections(filters::PolicySpec& spec, const YAML::Node& root,
                           const YamlReader& reader);

}  // namespace hallpass::config
