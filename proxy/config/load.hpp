// Loading a Config from YAML, following `extends:` chains (`extends: default` is the
// embedded default). Every error is a filters::LoadError naming file and line.
#pragma once

#include <memory>
#include <string>

#include "filters/policy.hpp"
#include "proxy/config/config.hpp"

namespace hallpass::config {

Config load_config(const std::string& path);

// Compiles the policy part of `config`, reading its lists.
std::shared_ptr<const filters::Policy> build_policy(const Config& config);

}  // namespace hallpass::config
