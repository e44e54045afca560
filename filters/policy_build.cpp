// Policy::build: turns a PolicySpec into the compiled snapshot, checking every reference.
#include <algorithm>

#include "filters/domain_list.hpp"
#include "filters/host.hpp"
#include "filters/load_error.hpp"
#include "filters/policy.hpp"

namespace hallpass::filters {

namespace {

constexpr std::string_view kApprovedList = "district-approved";
constexpr std::string_view kNeverInspectList = "never-inspect";

template <typename Named>
std::optional<std::size_t> index_of(const std::vector<Named>& items, std::string_view name) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].name == name) {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace

Policy::Actions Policy::resolve_actions(
    const std::vector<std::pair<std::string, CategoryAction>>& named, const SourceLocation& where,
    const std::string& owner) const {
  Actions actions(categories_.size());
  for (const auto& [category, action] : named) {
    auto it = std::find(categories_.begin(), categories_.end(), category);
    if (it == categories_.end()) {
      throw LoadError(where.file, where.line,
                      owner + ": unknown category \"" + category +
                          "\" (no list of that name under `lists`, and no rule makes it)");
    }
    actions[it - categories_.begin()] = action;
  }
  return actions;
}

// `inspect:` names categories, or domains (a name with a dot); a dotless name that is no
// category is a typo, not a host, and is refused.
void Policy::resolve_inspect(Profile& profile, const ProfileSpec& spec) const {
  profile.inspect_category.assign(categories_.size(), false);
  for (const auto& name : spec.inspect) {
    auto it = std::find(categories_.begin(), categories_.end(), name);
    if (it != categories_.end()) {
      profile.inspect_category[it - categories_.begin()] = true;
      // The function catalog's hosts are social platforms even when no list names them.
      profile.inspect_social_functions |= name == "social" || name.starts_with("social-");
      continue;
    }
    auto host = normalize_host(name);
    if (name.find('.') == std::string::npos || !host) {
      throw LoadError(spec.where.file, spec.where.line,
                      "policy \"" + spec.name + "\": inspect: \"" + name +
                          "\" is neither a category nor a domain");
    }
    profile.inspect_domains.insert(*host, 0);
  }
}

std::vector<ContentThresholds> Policy::district_thresholds(const PolicySpec& spec) const {
  const auto& categories = content_->categories();
  std::vector<ContentThresholds> out(categories.size());
  for (const auto& [name, thresholds] : spec.content_thresholds) {
    auto it = std::find(categories.begin(), categories.end(), name);
    if (it == categories.end()) {
      throw LoadError(spec.content_where.file, spec.content_where.line,
                      "content.thresholds: no pattern set has the category \"" + name + "\"");
    }
    out[it - categories.begin()] = thresholds;
  }
  return out;
}

void Policy::resolve_content(Profile& profile, const ProfileSpec& spec,
                             const std::vector<ContentThresholds>& district) const {
  const auto& categories = content_->categories();
  profile.content = district;
  for (const auto& [name, change] : spec.content) {
    auto it = std::find(categories.begin(), categories.end(), name);
    if (it == categories.end()) {
      throw LoadError(spec.where.file, spec.where.line,
                      "policy \"" + spec.name + "\": content: no pattern set has the category \"" +
                          name + "\"");
    }
    auto& thresholds = profile.content[it - categories.begin()];
    thresholds.flag = change.flag.value_or(thresholds.flag);
    thresholds.block = change.block.value_or(thresholds.block);
    thresholds.alert = change.alert.value_or(thresholds.alert);
  }
}

CategoryId Policy::category_id(const std::string& name) {
  auto it = std::find(categories_.begin(), categories_.end(), name);
  if (it != categories_.end()) {
    return static_cast<CategoryId>(it - categories_.begin());
  }
  categories_.push_back(name);
  return static_cast<CategoryId>(categories_.size() - 1);
}

std::shared_ptr<const Policy> Policy::build(const PolicySpec& spec, const ReadFile& read) {
  auto policy = std::make_shared<Policy>();
  policy->clients_ = spec.clients;
  policy->auth_ = spec.auth;
  policy->accounts_ = spec.accounts;
  for (const auto& domain : spec.approved) {
    policy->approved_.insert(domain, 0);
  }
  for (const auto& domain : spec.never_inspect) {
    policy->never_inspect_.insert(domain, 0);
  }
  policy->functions_ = FunctionCatalog(spec.functions);
  for (const auto& rule : policy->functions_.rules()) {
    policy->function_category_.push_back(policy->category_id(rule.category));
  }
  policy->detector_ = AnonymizerDetector(spec.signatures);
  policy->content_ = ContentScanner::shared(spec.content_patterns);
  auto district_content = policy->district_thresholds(spec);

  for (const auto& list : spec.lists) {
    auto path = list.folder + "/domains";
    auto text = read(path);
    if (!text) {
      throw LoadError(list.where.file, list.where.line,
                      "list \"" + list.category + "\": cannot read " + path);
    }
    // The district's own approved platforms are precedence step 3, not a category: they
    // join `approved:` and outrank anonymizer, function and category rules.
    if (list.category == kApprovedList) {
      load_domain_list(*text, path, 0, policy->approved_);
      continue;
    }
    if (list.category == kNeverInspectList) {  // district-wide, like `never_inspect:`
      load_domain_list(*text, path, 0, policy->never_inspect_);
      continue;
    }
    auto id = policy->category_id(list.category);
    auto added = load_domain_list(*text, path, id, policy->lists_);
    policy->list_domains_.resize(policy->categories_.size());
    policy->list_domains_[id] += added;
    // `urls` and `patterns` are optional beside `domains`, as in UT1 folders.
    if (auto urls = read(list.folder + "/urls")) {
      policy->url_rules_.load_prefixes(*urls, list.folder + "/urls", id);
    }
    if (auto patterns = read(list.folder + "/patterns")) {
      policy->url_rules_.load_patterns(*patterns, list.folder + "/patterns", id);
    }
  }
  policy->url_rules_.finish();
  auto anonymizer = std::find(policy->categories_.begin(), policy->categories_.end(), "anonymizer");
  if (anonymizer != policy->categories_.end() || !spec.signatures.empty()) {
    policy->anonymizer_ = policy->category_id("anonymizer");
  }

  for (const auto& spec_profile : spec.profiles) {
    Profile profile{spec_profile.name,
                    spec_profile.default_action,
                    {},
                    spec_profile.safesearch,
                    spec_profile.restrict_accounts};
    auto owner = "policy \"" + spec_profile.name + "\"";
    profile.category_action =
        policy->resolve_actions(spec_profile.categories, spec_profile.where, owner);
    profile.tls = spec_profile.tls;
    profile.on_oversize = spec_profile.on_oversize;
    policy->resolve_inspect(profile, spec_profile);
    policy->resolve_content(profile, spec_profile, district_content);
    for (const auto& schedule : spec_profile.schedules) {
      profile.schedules.push_back(
          {schedule.name, schedule.days, schedule.from, schedule.to,
           policy->resolve_actions(schedule.categories, schedule.where,
                                   owner + " schedule \"" + schedule.name + "\"")});
    }
    policy->profiles_.push_back(std::move(profile));
  }

  auto default_building = std::find_if(spec.buildings.begin(), spec.buildings.end(),
                                       [](const auto& b) { return b.name == "default"; });
  if (default_building == spec.buildings.end()) {
    throw LoadError("buildings", 0, "a building named \"default\" is required");
  }
  std::vector<const BuildingSpec*> ordered{&*default_building};
  for (const auto& b : spec.buildings) {
    if (&b != &*default_building) {
      ordered.push_back(&b);
    }
  }
  for (const BuildingSpec* b : ordered) {
    Building building;
    building.name = b->name;
    const std::string* names[2] = {&b->student_policy, &b->staff_policy};
    for (int role = 0; role < 2; ++role) {
      auto index = index_of(policy->profiles_, *names[role]);
      if (!index) {
        throw LoadError(b->where.file, b->where.line,
                        "building \"" + b->name + "\": unknown policy \"" + *names[role] + "\"");
      }
      building.profile_for_role[role] = static_cast<std::uint16_t>(*index);
    }
    for (const auto& domain : b->allow) {
      building.allow.insert(domain, 0);
    }
    for (const auto& domain : b->block) {
      building.block.insert(domain, 0);
    }
    auto building_index = static_cast<std::uint16_t>(policy->buildings_.size());
    for (const auto& [network, role] : b->networks) {
      policy->networks_.push_back({network, building_index, role});
    }
    policy->buildings_.push_back(std::move(building));
  }
  std::stable_sort(
      policy->networks_.begin(), policy->networks_.end(),
      [](const auto& a, const auto& b) { return a.network.prefix > b.network.prefix; });
  return policy;
}

const UserSpec* Policy::find_user(std::string_view name) const {
  for (const auto& user : auth_.users) {
    if (user.name == name) {
      return &user;
    }
  }
  return nullptr;
}

Policy::Counts Policy::counts() const {
  return {categories_.size(),        lists_.size(),    buildings_.size(), profiles_.size(),
          functions_.rules().size(), detector_.size(), url_rules_.size()};
}

}  // namespace hallpass::filters
