// Typed reads of YAML nodes whose errors name file, line and key, the way an operator
// needs them ("/etc/hallpass/hallpass.yaml:12: clients[2]: prefix length must be 0-32").
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "filters/ip_address.hpp"
#include "filters/load_error.hpp"

namespace hallpass::config {

// Reads and parses the YAML file at `path` (real or embedded). Throws LoadError naming the
// file, and the line where the parser stopped; `what` names the file in words ("rule file").
YAML::Node load_yaml_file(const std::string& path, std::string_view what);

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  // A missing key has no position of its own (yaml-cpp throws on asking), so it reports the
  // line of the mapping that should have held it: the last one checked with expect_map.
  int line(const YAML::Node& node) const {
    return node.IsDefined() ? node.Mark().line + 1 : context_line_;
  }
  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& detail) const;

  void expect_map(const YAML::Node& node, const std::string& key) const;
  // Refuses keys outside `known`, so a typo is an error instead of a silently ignored line.
  void expect_keys(const YAML::Node& node, const std::string& key,
                   std::initializer_list<std::string_view> known) const;

  std::string string(const YAML::Node& node, const std::string& key) const;
  std::vector<std::string> strings(const YAML::Node& node, const std::string& key) const;
  bool boolean(const YAML::Node& node, const std::string& key) const;
  std::size_t count(const YAML::Node& node, const std::string& key) const;
  std::uint16_t port(const YAML::Node& node, const std::string& key) const;
  double seconds(const YAML::Node& node, const std::string& key) const;
  filters::IpNetwork network(const YAML::Node& node, const std::string& key) const;
  std::vector<filters::IpNetwork> networks(const YAML::Node& node, const std::string& key) const;
  std::string domain(const YAML::Node& node, const std::string& key) const;

 private:
  std::string file_;
  // Mutable because checking a mapping is a read; a reader belongs to one load on one thread.
  mutable int context_line_ = 0;
};

}  // namespace hallpass::config
