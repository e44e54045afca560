// What a policy is made of, as the config states it: plain values with their source
// locations, before anything is compiled. proxy/config fills it from YAML; Policy::build
// compiles it. Keeping YAML out of filters/ keeps this library free of config formats.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "filters/ip_address.hpp"
#include "filters/types.hpp"

namespace hallpass::filters {

struct SourceLocation {
  std::string file;
  int line = 0;
};

struct ListSpec {
  std::string category;
  std::string folder;  // holds `domains`
  SourceLocation where;
};

struct ProfileSpec {
  std::string name;
  Action default_action = Action::allow;
  std::vector<std::pair<std::string, Action>> categories;
  SourceLocation where;
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

struct PolicySpec {
  std::vector<IpNetwork> clients;
  std::vector<ListSpec> lists;
  std::vector<ProfileSpec> profiles;
  std::vector<BuildingSpec> buildings;  // must include "default"
};

// Reads a list file by path; nullopt when it cannot be read. Lets the embedded default and
// real files load through the same code.
using ReadFile = std::function<std::optional<std::string>(const std::string& path)>;

}  // namespace hallpass::filters
