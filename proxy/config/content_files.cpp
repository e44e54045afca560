#include "proxy/config/content_files.hpp"

#include <algorithm>

#include "proxy/config/yaml_values.hpp"

namespace hallpass::config {

namespace {

filters::Severity severity(const YAML::Node& node, const std::string& key, const YamlReader& r) {
  auto text = r.string(node, key);
  static constexpr std::pair<std::string_view, filters::Severity> kNames[] = {
      {"low", filters::Severity::low},
      {"medium", filters::Severity::medium},
      {"high", filters::Severity::high},
      {"critical", filters::Severity::critical}};
  for (const auto& [name, value] : kNames) {
    if (text == name) {
      return value;
    }
  }
  r.fail(node, key, "expected low, medium, high or critical, got \"" + text + "\"");
}

void apply_flags(filters::ContentPatternSpec& out, const YAML::Node& node, const std::string& key,
                 const YamlReader& r) {
  out.caseless = false;
  for (const auto& flag : r.strings(node, key)) {
    if (flag == "caseless") {
      out.caseless = true;
    } else if (flag == "dotall") {
      out.dotall = true;
    } else if (flag == "multiline") {
      out.multiline = true;
    } else if (flag == "utf8") {
      out.utf8 = true;
    } else if (flag == "ucp") {
      out.ucp = true;
    } else {
      r.fail(node, key, "unknown flag \"" + flag + "\" (caseless, dotall, multiline, utf8, ucp)");
    }
  }
}

filters::ContentPatternSpec pattern(const YAML::Node& node, const std::string& key,
                                    const std::string& category, bool normalize,
                                    const YamlReader& r) {
  r.expect_keys(node, key,
                {"id", "description", "regex", "flags", "weight", "severity", "examples"});
  filters::ContentPatternSpec out;
  out.id = r.string(node["id"], key + ".id");
  out.category = category;
  out.normalize = normalize;
  if (node["description"]) {
    out.description = r.string(node["description"], key + ".description");
  }
  out.regex = r.string(node["regex"], key + ".regex");
  if (node["flags"]) {
    apply_flags(out, node["flags"], key + ".flags", r);
  }
  auto weight = r.count(node["weight"], key + ".weight");
  if (weight < 1 || weight > 100) {
    r.fail(node["weight"], key + ".weight", "must be 1-100");
  }
  out.weight = static_cast<int>(weight);
  out.severity = severity(node["severity"], key + ".severity", r);
  if (auto examples = node["examples"]) {
    r.expect_keys(examples, key + ".examples", {"match", "no_match"});
    out.examples.match = r.strings(examples["match"], key + ".examples.match");
    out.examples.no_match = r.strings(examples["no_match"], key + ".examples.no_match");
  }
  out.where = {r.file(), r.line(node)};
  return out;
}

}  // namespace

void load_content_file(const std::string& path, std::vector<filters::ContentPatternSpec>& out) {
  auto root = load_yaml_file(path, "pattern file");
  YamlReader r(path);
  r.expect_keys(root, "", {"category", "normalize", "patterns"});
  auto category = r.string(root["category"], "category");
  bool normalize = root["normalize"] && r.boolean(root["normalize"], "normalize");
  const auto& patterns = root["patterns"];
  if (!patterns || !patterns.IsSequence()) {
    r.fail(root, "patterns", "expected a list of patterns");
  }
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    out.push_back(
        pattern(patterns[i], "patterns[" + std::to_string(i) + "]", category, normalize, r));
  }
}

}  // namespace hallpass::config
