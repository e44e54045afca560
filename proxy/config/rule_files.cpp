#include "proxy/config/rule_files.hpp"

#include <algorithm>
#include <cctype>

#include "proxy/config/yaml_values.hpp"

namespace hallpass::config {

namespace {

filters::RuleExamples examples(const YAML::Node& node, const std::string& key,
                               const YamlReader& r) {
  filters::RuleExamples out;
  if (!node) {
    return out;
  }
  r.expect_keys(node, key, {"match", "no_match"});
  out.match = r.strings(node["match"], key + ".match");
  out.no_match = r.strings(node["no_match"], key + ".no_match");
  return out;
}

std::vector<std::string> domains(const YAML::Node& node, const std::string& key,
                                 const YamlReader& r) {
  std::vector<std::string> out;
  if (!node || node.IsNull()) {
    return out;
  }
  if (!node.IsSequence()) {
    r.fail(node, key, "expected a list of domains");
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(r.domain(node[i], key + "[" + std::to_string(i) + "]"));
  }
  return out;
}

void load_platforms(const YAML::Node& platforms, const YamlReader& r, filters::PolicySpec& spec) {
  static constexpr std::string_view kFunctions[] = {"dm",     "post", "comment",
                                                    "upload", "live", "view"};
  if (!platforms.IsSequence()) {
    r.fail(platforms, "platforms", "expected a list of platforms");
  }
  for (std::size_t p = 0; p < platforms.size(); ++p) {
    const auto& platform = platforms[p];
    auto pkey = "platforms[" + std::to_string(p) + "]";
    r.expect_keys(platform, pkey, {"platform", "hosts", "rules"});
    auto name = r.string(platform["platform"], pkey + ".platform");
    auto hosts = domains(platform["hosts"], pkey + ".hosts", r);
    const auto& rules = platform["rules"];
    if (!rules.IsSequence()) {
      r.fail(platform, pkey + ".rules", "expected a list of rules");
    }
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const auto& rule = rules[i];
      auto key = name + ".rules[" + std::to_string(i) + "]";
      r.expect_keys(rule, key, {"id", "function", "hosts", "path", "methods", "examples"});
      filters::FunctionRuleSpec out;
      out.id = r.string(rule["id"], key + ".id");
      out.platform = name;
      out.function = r.string(rule["function"], key + ".function");
      if (std::find(std::begin(kFunctions), std::end(kFunctions), out.function) ==
          std::end(kFunctions)) {
        r.fail(rule["function"], key + ".function",
               "expected dm, post, comment, upload, live or view, got \"" + out.function + "\"");
      }
      out.hosts = rule["hosts"] ? domains(rule["hosts"], key + ".hosts", r) : hosts;
      if (rule["path"]) {
        out.path = r.string(rule["path"], key + ".path");
      }
      out.methods = r.strings(rule["methods"], key + ".methods");
      for (auto& method : out.methods) {
        std::transform(method.begin(), method.end(), method.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      }
      out.examples = examples(rule["examples"], key + ".examples", r);
      out.where = {r.file(), r.line(rule)};
      spec.functions.push_back(std::move(out));
    }
  }
}

void load_signatures(const YAML::Node& signatures, const YamlReader& r, filters::PolicySpec& spec) {
  if (!signatures.IsSequence()) {
    r.fail(signatures, "signatures", "expected a list of signatures");
  }
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    const auto& node = signatures[i];
    auto key = "signatures[" + std::to_string(i) + "]";
    r.expect_keys(node, key, {"id", "description", "url", "examples"});
    filters::SignatureSpec out;
    out.id = r.string(node["id"], key + ".id");
    if (node["description"]) {
      out.description = r.string(node["description"], key + ".description");
    }
    out.url = r.string(node["url"], key + ".url");
    out.examples = examples(node["examples"], key + ".examples", r);
    out.where = {r.file(), r.line(node)};
    spec.signatures.push_back(std::move(out));
  }
}

}  // namespace

void load_rule_file(const std::string& path, filters::PolicySpec& spec) {
  auto root = load_yaml_file(path, "rule file");
  YamlReader r(path);
  r.expect_keys(root, "", {"platforms", "signatures"});
  if (root["platforms"]) {
    load_platforms(root["platforms"], r, spec);
  }
  if (root["signatures"]) {
    load_signatures(root["signatures"], r, spec);
  }
}

}  // namespace hallpass::config
