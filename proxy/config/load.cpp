#include "proxy/config/load.hpp"

#include "proxy/config/apply.hpp"
#include "proxy/config/content_files.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/profile_extends.hpp"
#include "proxy/config/pseudonym_key.hpp"
#include "proxy/config/rule_files.hpp"
#include "proxy/config/users_file.hpp"

namespace hallpass::config {

namespace {

constexpr int kMaxExtendsDepth = 8;

void load_into(Config& config, const std::string& path, int depth) {
  if (depth > kMaxExtendsDepth) {
    throw filters::LoadError(path, 0, "`extends` chain is deeper than 8 files (a cycle?)");
  }
  auto root = load_yaml_file(path, "file");
  config.files.push_back(path);
  if (root.IsNull()) {
    return;
  }
  YamlReader reader(path);
  reader.expect_map(root, "config");
  if (auto base = root["extends"]) {
    auto name = reader.string(base, "extends");
    load_into(config, name == "default" ? std::string(kEmbeddedDefault) : resolve_path(path, name),
              depth + 1);
  }
  apply_document(config, root, reader);
}

}  // namespace

Config load_config(const std::string& path) {
  Config config;
  config.source = path;
  load_into(config, path, 0);
  for (const auto& [name, file] : config.rule_files) {
    load_rule_file(file, config.policy);
  }
  for (const auto& [name, file] : config.content_files) {
    load_content_file(file, config.policy.content_patterns);
  }
  resolve_profile_extends(config.policy);
  config.policy.auth.enabled = !config.users_file.empty();
  if (config.policy.auth.enabled) {
    config.policy.auth.users = load_users_file(config.users_file);
  }
  // After the whole `extends` chain: the switch and the key file may come from different files.
  if (config.audit.pseudonymize) {
    config.audit.pseudonym_key = load_pseudonym_key(config.audit.pseudonym_key_file, config.source);
  }
  return config;
}

std::shared_ptr<const filters::Policy> build_policy(const Config& config) {
  return filters::Policy::build(config.policy,
                                [](const std::string& path) { return read_file(path); });
}

}  // namespace hallpass::config
