#include "proxy/config/profile_extends.hpp"

#include <algorithm>
#include <map>

#include "filters/load_error.hpp"

namespace hallpass::config {

namespace {

using Profiles = std::vector<filters::ProfileSpec>;

const filters::ProfileSpec& resolved(const std::string& name, const Profiles& written,
                                     std::map<std::string, filters::ProfileSpec>& done,
                                     std::vector<std::string>& chain) {
  if (auto it = done.find(name); it != done.end()) {
    return it->second;
  }
  auto own =
      std::find_if(written.begin(), written.end(), [&](const auto& p) { return p.name == name; });
  const auto& where = own->where;
  if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
    throw filters::LoadError(where.file, where.line,
                             "policy \"" + name + "\": `extends` comes back to itself");
  }
  if (own->extends.empty()) {
    return done.emplace(name, *own).first->second;
  }
  auto base_it = std::find_if(written.begin(), written.end(),
                              [&](const auto& p) { return p.name == own->extends; });
  if (base_it == written.end()) {
    throw filters::LoadError(
        where.file, where.line,
        "policy \"" + name + "\": extends unknown policy \"" + own->extends + "\"");
  }
  chain.push_back(name);
  filters::ProfileSpec out = resolved(own->extends, written, done, chain);
  chain.pop_back();
  out.name = own->name;
  out.where = own->where;
  out.extends.clear();
  if (own->set.default_action) {
    out.default_action = own->default_action;
  }
  if (own->set.safesearch) {
    out.safesearch = own->safesearch;
  }
  if (own->set.restrict_accounts) {
    out.restrict_accounts = own->restrict_accounts;
  }
  if (own->set.schedules) {
    out.schedules = own->schedules;
  }
  if (own->set.inspect) {
    out.inspect = own->inspect;
  }
  if (own->set.on_inspect_failure) {
    out.tls.on_inspect_failure = own->tls.on_inspect_failure;
  }
  if (own->set.no_sni) {
    out.tls.no_sni = own->tls.no_sni;
  }
  if (own->set.tls_block_page) {
    out.tls.block_page = own->tls.block_page;
  }
  if (own->set.on_oversize) {
    out.on_oversize = own->on_oversize;
  }
  // Named pairs, not structured bindings: clang-14 (the fuzz build) cannot capture those.
  for (const auto& own_content : own->content) {
    const auto& [category, change] = own_content;
    auto it = std::find_if(out.content.begin(), out.content.end(),
                           [&](const auto& c) { return c.first == own_content.first; });
    if (it == out.content.end()) {
      out.content.emplace_back(category, change);
      continue;
    }
    it->second.flag = change.flag ? change.flag : it->second.flag;
    it->second.block = change.block ? change.block : it->second.block;
    it->second.alert = change.alert ? change.alert : it->second.alert;
  }
  for (const auto& own_category : own->categories) {
    const auto& [category, action] = own_category;
    auto it = std::find_if(out.categories.begin(), out.categories.end(),
                           [&](const auto& c) { return c.first == own_category.first; });
    if (it == out.categories.end()) {
      out.categories.emplace_back(category, action);
    } else {
      it->second = action;
    }
  }
  return done.emplace(name, std::move(out)).first->second;
}

}  // namespace

void resolve_profile_extends(filters::PolicySpec& spec) {
  std::map<std::string, filters::ProfileSpec> done;
  std::vector<std::string> chain;
  Profiles out;
  for (const auto& profile : spec.profiles) {
    out.push_back(resolved(profile.name, spec.profiles, done, chain));
  }
  spec.profiles = std::move(out);
}

}  // namespace hallpass::config
