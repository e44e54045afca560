// The policy half of a config document: clients, lists, buildings, policies.
#include <algorithm>
#include <cstdio>

#include "proxy/config/apply.hpp"

#include "filters/content_scanner.hpp"
#include "proxy/config/file_source.hpp"

namespace hallpass::config {

namespace {

template <typename Named>
Named& find_or_add(std::vector<Named>& items, const std::string& name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const auto& i) { return i.name == name; });
  if (it != items.end()) {
    return *it;
  }
  items.push_back({});
  items.back().name = name;
  return items.back();
}

filters::Action action(const YAML::Node& node, const std::string& key, const YamlReader& r) {
  auto text = r.string(node, key);
  if (text == "allow") {
    return filters::Action::allow;
  }
  if (text == "block") {
    return filters::Action::block;
  }
  r.fail(node, key, "expected allow or block, got \"" + text + "\"");
}

filters::CategoryAction category_action(const YAML::Node& node, const std::string& key,
                                        const YamlReader& r) {
  auto text = r.string(node, key);
  if (text == "allow") {
    return filters::CategoryAction::allow;
  }
  if (text == "block") {
    return filters::CategoryAction::block;
  }
  if (text == "monitor") {
    return filters::CategoryAction::monitor;
  }
  r.fail(node, key, "expected allow, block or monitor, got \"" + text + "\"");
}

void apply_lists(filters::PolicySpec& spec, const YAML::Node& node, const YamlReader& r) {
  r.expect_map(node, "lists");
  for (const auto& item : node) {
    auto category = item.first.Scalar();
    auto folder = resolve_path(r.file(), r.string(item.second, "lists." + category));
    auto it = std::find_if(spec.lists.begin(), spec.lists.end(),
                           [&](const auto& l) { return l.category == category; });
    filters::SourceLocation where{r.file(), r.line(item.second)};
    if (it == spec.lists.end()) {
      spec.lists.push_back({category, folder, where});
    } else {
      it->folder = folder;
      it->where = where;
    }
  }
}

void merge_actions(std::vector<std::pair<std::string, filters::CategoryAction>>& into,
                   const YAML::Node& node, const std::string& key, const YamlReader& r) {
  r.expect_map(node, key);
  for (const auto& item : node) {
    auto category = item.first.Scalar();
    auto chosen = category_action(item.second, key + "." + category, r);
    auto it =
        std::find_if(into.begin(), into.end(), [&](const auto& c) { return c.first == category; });
    if (it == into.end()) {
      into.emplace_back(category, chosen);
    } else {
      it->second = chosen;
    }
  }
}

// "07:30" → 450.
std::int16_t clock_minutes(const YAML::Node& node, const std::string& key, const YamlReader& r) {
  auto text = r.string(node, key);
  unsigned hours = 0;
  unsigned minutes = 0;
  char colon = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%2u%c%2u%n", &hours, &colon, &minutes, &consumed) != 3 ||
      colon != ':' || consumed != static_cast<int>(text.size()) || hours > 24 || minutes > 59 ||
      (hours == 24 && minutes != 0)) {
    r.fail(node, key, "expected a time of day HH:MM, got \"" + text + "\"");
  }
  return static_cast<std::int16_t>(hours * 60 + minutes);
}

filters::ScheduleSpec schedule(const YAML::Node& node, const std::string& key,
                               const YamlReader& r) {
  static constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  r.expect_keys(node, key, {"name", "days", "from", "to", "categories"});
  filters::ScheduleSpec out;
  out.where = {r.file(), r.line(node)};
  out.name = node["name"] ? r.string(node["name"], key + ".name") : key;
  for (const auto& day : r.strings(node["days"], key + ".days")) {
    auto it = std::find(std::begin(kDays), std::end(kDays), day);
    if (it == std::end(kDays)) {
      r.fail(node["days"], key + ".days",
             "expected mon, tue, wed, thu, fri, sat or sun, got \"" + day + "\"");
    }
    out.days |= static_cast<std::uint8_t>(1U << (it - std::begin(kDays)));
  }
  if (out.days == 0) {
    r.fail(node, key + ".days", "a schedule needs at least one day");
  }
  if (!node["from"] || !node["to"]) {
    r.fail(node, key, "a schedule needs `from` and `to` (HH:MM)");
  }
  out.from = clock_minutes(node["from"], key + ".from", r);
  out.to = clock_minutes(node["to"], key + ".to", r);
  if (out.from >= out.to) {
    r.fail(node["to"], key + ".to", "must be later than `from` (a window within one day)");
  }
  if (auto n = node["categories"]) {
    merge_actions(out.categories, n, key + ".categories", r);
  }
  return out;
}

// `{flag: N, block: N, alert: N}`, each optional; 0 turns that action off.
filters::ThresholdOverride threshold_override(const YAML::Node& node, const std::string& key,
                                              const YamlReader& r) {
  r.expect_keys(node, key, {"flag", "block", "alert"});
  filters::ThresholdOverride out;
  for (auto [name, field] : {std::pair{"flag", &out.flag}, std::pair{"block", &out.block},
                             std::pair{"alert", &out.alert}}) {
    if (auto n = node[name]) {
      auto value = r.count(n, key + "." + name);
      if (value > static_cast<std::size_t>(filters::ContentScanner::kMaxScore)) {
        r.fail(n, key + "." + name, "must be 0-1000");
      }
      *field = static_cast<int>(value);
    }
  }
  return out;
}

void apply_tls_settings(filters::ProfileSpec& profile, const YAML::Node& node,
                        const std::string& key, const YamlReader& r) {
  if (auto n = node["inspect"]) {
    profile.inspect.clear();
    if (!n.IsNull() && !n.IsSequence()) {
      r.fail(n, key + ".inspect", "expected a list of categories and domains");
    }
    for (std::size_t i = 0; n.IsSequence() && i < n.size(); ++i) {
      profile.inspect.push_back(r.string(n[i], key + ".inspect[" + std::to_string(i) + "]"));
    }
    profile.set.inspect = true;
  }
  if (auto n = node["on_inspect_failure"]) {
    auto text = r.string(n, key + ".on_inspect_failure");
    if (text != "block" && text != "splice") {
      r.fail(n, key + ".on_inspect_failure", "expected block or splice, got \"" + text + "\"");
    }
    profile.tls.on_inspect_failure =
        text == "block" ? filters::InspectFailure::block : filters::InspectFailure::splice;
    profile.set.on_inspect_failure = true;
  }
  if (auto n = node["no_sni"]) {
    profile.tls.no_sni = action(n, key + ".no_sni", r);
    profile.set.no_sni = true;
  }
  if (auto n = node["tls_block_page"]) {
    profile.tls.block_page = r.boolean(n, key + ".tls_block_page");
    profile.set.tls_block_page = true;
  }
}

void apply_profile(filters::ProfileSpec& profile, const YAML::Node& node, const YamlReader& r) {
  auto key = "policies." + profile.name;
  r.expect_keys(
      node, key,
      {"extends", "default", "categories", "safesearch", "restrict_accounts", "schedules",
       "inspect", "on_inspect_failure", "no_sni", "tls_block_page", "content", "on_oversize"});
  if (auto n = node["extends"]) {
    profile.extends = r.string(n, key + ".extends");
  }
  profile.where = {r.file(), r.line(node)};
  if (auto n = node["default"]) {
    profile.default_action = action(n, key + ".default", r);
    profile.set.default_action = true;
  }
  if (auto n = node["safesearch"]) {
    auto text = r.string(n, key + ".safesearch");
    if (text == "off") {
      profile.safesearch = filters::SafeSearch::off;
    } else if (text == "moderate") {
      profile.safesearch = filters::SafeSearch::moderate;
    } else if (text == "strict") {
      profile.safesearch = filters::SafeSearch::strict;
    } else {
      r.fail(n, key + ".safesearch", "expected off, moderate or strict, got \"" + text + "\"");
    }
    profile.set.safesearch = true;
  }
  if (auto n = node["restrict_accounts"]) {
    profile.restrict_accounts = r.boolean(n, key + ".restrict_accounts");
    profile.set.restrict_accounts = true;
  }
  if (auto n = node["categories"]; n && !n.IsNull()) {
    merge_actions(profile.categories, n, key + ".categories", r);
  }
  apply_tls_settings(profile, node, key, r);
  if (auto n = node["content"]; n && !n.IsNull()) {
    r.expect_map(n, key + ".content");
    for (const auto& item : n) {
      auto category = item.first.Scalar();
      auto change = threshold_override(item.second, key + ".content." + category, r);
      auto it = std::find_if(profile.content.begin(), profile.content.end(),
                             [&](const auto& c) { return c.first == category; });
      if (it == profile.content.end()) {
        profile.content.emplace_back(category, change);
      } else {
        it->second = change;
      }
    }
  }
  if (auto n = node["on_oversize"]) {
    auto text = r.string(n, key + ".on_oversize");
    if (text != "forward" && text != "block") {
      r.fail(n, key + ".on_oversize", "expected forward or block, got \"" + text + "\"");
    }
    profile.on_oversize = text == "block" ? filters::Action::block : filters::Action::allow;
    profile.set.on_oversize = true;
  }
  if (auto n = node["schedules"]) {
    profile.schedules.clear();  // a list replaces, like every other sequence
    profile.set.schedules = true;
    if (!n.IsNull() && !n.IsSequence()) {
      r.fail(n, key + ".schedules", "expected a list of schedules");
    }
    for (std::size_t i = 0; n.IsSequence() && i < n.size(); ++i) {
      profile.schedules.push_back(schedule(n[i], key + ".schedules[" + std::to_string(i) + "]", r));
    }
  }
}

std::vector<std::string> domains(const YAML::Node& node, const std::string& key,
                                 const YamlReader& r) {
  if (node.IsNull()) {
    return {};
  }
  if (!node.IsSequence()) {
    r.fail(node, key, "expected a list of domains");
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(r.domain(node[i], key + "[" + std::to_string(i) + "]"));
  }
  return out;
}

void apply_building(filters::BuildingSpec& building, const YAML::Node& node, const YamlReader& r) {
  auto key = "buildings." + building.name;
  r.expect_keys(node, key, {"networks", "policy", "allow", "block"});
  building.where = {r.file(), r.line(node)};
  if (auto n = node["networks"]) {
    r.expect_keys(n, key + ".networks", {"staff", "student"});
    building.networks.clear();
    for (auto role : {filters::Role::staff, filters::Role::student}) {
      auto role_key = std::string(filters::to_string(role));
      for (const auto& network : r.networks(n[role_key], key + ".networks." + role_key)) {
        building.networks.emplace_back(network, role);
      }
    }
  }
  if (auto n = node["policy"]) {
    if (n.IsScalar()) {
      building.student_policy = building.staff_policy = n.Scalar();
    } else {
      r.expect_keys(n, key + ".policy", {"staff", "student"});
      if (n["staff"]) {
        building.staff_policy = r.string(n["staff"], key + ".policy.staff");
      }
      if (n["student"]) {
        building.student_policy = r.string(n["student"], key + ".policy.student");
      }
    }
  }
  if (auto n = node["allow"]) {
    building.allow = domains(n, key + ".allow", r);
  }
  if (auto n = node["block"]) {
    building.block = domains(n, key + ".block", r);
  }
}

}  // namespace

void apply_policy_sections(filters::PolicySpec& spec, const YAML::Node& root, const YamlReader& r) {
  if (auto n = root["clients"]) {
    spec.clients = r.networks(n, "clients");
  }
  if (auto n = root["accounts"]) {
    r.expect_keys(n, "accounts",
                  {"google_allowed_domains", "microsoft_tenants", "microsoft_tenant_context"});
    if (n["google_allowed_domains"]) {
      spec.accounts.google_allowed_domains =
          r.string(n["google_allowed_domains"], "accounts.google_allowed_domains");
    }
    if (n["microsoft_tenants"]) {
      spec.accounts.microsoft_tenants =
          r.string(n["microsoft_tenants"], "accounts.microsoft_tenants");
    }
    if (n["microsoft_tenant_context"]) {
      spec.accounts.microsoft_context =
          r.string(n["microsoft_tenant_context"], "accounts.microsoft_tenant_context");
    }
  }
  if (auto n = root["approved"]) {
    spec.approved = domains(n, "approved", r);
  }
  if (auto n = root["never_inspect"]) {
    spec.never_inspect = domains(n, "never_inspect", r);
  }
  if (auto n = root["content"]; n && n["thresholds"] && !n["thresholds"].IsNull()) {
    const auto& thresholds = n["thresholds"];
    r.expect_map(thresholds, "content.thresholds");
    spec.content_where = {r.file(), r.line(thresholds)};
    for (const auto& item : thresholds) {
      auto category = item.first.Scalar();
      auto change = threshold_override(item.second, "content.thresholds." + category, r);
      auto it = std::find_if(spec.content_thresholds.begin(), spec.content_thresholds.end(),
                             [&](const auto& c) { return c.first == category; });
      if (it == spec.content_thresholds.end()) {
        spec.content_thresholds.emplace_back(category, filters::ContentThresholds{});
        it = spec.content_thresholds.end() - 1;
      }
      it->second.flag = change.flag.value_or(it->second.flag);
      it->second.block = change.block.value_or(it->second.block);
      it->second.alert = change.alert.value_or(it->second.alert);
    }
  }
  if (auto n = root["lists"]; n && !n.IsNull()) {
    apply_lists(spec, n, r);
  }
  if (auto n = root["policies"]; n && !n.IsNull()) {
    r.expect_map(n, "policies");
    for (const auto& item : n) {
      apply_profile(find_or_add(spec.profiles, item.first.Scalar()), item.second, r);
    }
  }
  if (auto n = root["buildings"]; n && !n.IsNull()) {
    r.expect_map(n, "buildings");
    for (const auto& item : n) {
      apply_building(find_or_add(spec.buildings, item.first.Scalar()), item.second, r);
    }
  }
}

}  // namespace hallpass::config
