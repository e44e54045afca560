#include "proxy/config/yaml_values.hpp"

#include "proxy/config/file_source.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "filters/host.hpp"

namespace hallpass::config {

YAML::Node load_yaml_file(const std::string& path, std::string_view what) {
  auto text = read_file(path);
  if (!text) {
    throw filters::LoadError(path, 0, "cannot read the " + std::string(what));
  }
  try {
    return YAML::Load(*text);
  } catch (const YAML::ParserException& e) {
    // mark.line is 0-based; it is where the parser noticed, which is what we can report.
    throw filters::LoadError(path, e.mark.line + 1, e.msg);
  }
}

void YamlReader::fail(const YAML::Node& node, const std::string& key,
                      const std::string& detail) const {
  throw filters::LoadError(file_, line(node), key + ": " + detail);
}

void YamlReader::expect_map(const YAML::Node& node, const std::string& key) const {
  if (!node.IsDefined()) {
    fail(node, key, "missing; this key is required");
  }
  if (!node.IsMap()) {
    fail(node, key, "expected a mapping");
  }
  context_line_ = line(node);
}

void YamlReader::expect_keys(const YAML::Node& node, const std::string& key,
                             std::initializer_list<std::string_view> known) const {
  expect_map(node, key);
  for (const auto& item : node) {
    auto name = item.first.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      fail(item.first, key.empty() ? name : key + "." + name, "unknown key");
    }
  }
}

std::string YamlReader::string(const YAML::Node& node, const std::string& key) const {
  if (!node.IsDefined()) {
    fail(node, key, "missing; this key is required");
  }
  if (!node.IsScalar()) {
    fail(node, key, "expected a single value");
  }
  return node.Scalar();
}

std::vector<std::string> YamlReader::strings(const YAML::Node& node, const std::string& key) const {
  if (!node.IsDefined() || node.IsNull()) {
    return {};
  }
  if (!node.IsSequence()) {
    fail(node, key, "expected a list");
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(string(node[i], key + "[" + std::to_string(i) + "]"));
  }
  return out;
}

bool YamlReader::boolean(const YAML::Node& node, const std::string& key) const {
  auto text = string(node, key);
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  fail(node, key, "expected true or false, got \"" + text + "\"");
}

std::size_t YamlReader::count(const YAML::Node& node, const std::string& key) const {
  auto text = string(node, key);
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    fail(node, key, "expected a whole number, got \"" + text + "\"");
  }
  return value;
}

std::uint16_t YamlReader::port(const YAML::Node& node, const std::string& key) const {
  auto value = count(node, key);
  if (value == 0 || value > 65535) {
    fail(node, key, "port must be 1-65535");
  }
  return static_cast<std::uint16_t>(value);
}

double YamlReader::seconds(const YAML::Node& node, const std::string& key) const {
  auto text = string(node, key);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value) ||
      value <= 0) {
    fail(node, key, "expected a positive number of seconds, got \"" + text + "\"");
  }
  return value;
}

filters::IpNetwork YamlReader::network(const YAML::Node& node, const std::string& key) const {
  auto text = string(node, key);
  std::string why;
  auto parsed = filters::IpNetwork::parse(text, &why);
  if (!parsed) {
    fail(node, key, "\"" + text + "\" is not a network: " + why);
  }
  return *parsed;
}

std::vector<filters::IpNetwork> YamlReader::networks(const YAML::Node& node,
                                                     const std::string& key) const {
  if (!node.IsDefined() || node.IsNull()) {
    return {};
  }
  if (!node.IsSequence()) {
    fail(node, key, "expected a list of networks");
  }
  std::vector<filters::IpNetwork> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(network(node[i], key + "[" + std::to_string(i) + "]"));
  }
  return out;
}

std::string YamlReader::domain(const YAML::Node& node, const std::string& key) const {
  auto text = string(node, key);
  auto normalized = filters::normalize_host(text);
  if (!normalized) {
    fail(node, key, "\"" + text + "\" is not a domain");
  }
  return *normalized;
}

}  // namespace hallpass::config
