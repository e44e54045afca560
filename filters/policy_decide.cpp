// identify() and decide(): the hot path. Reads only; allocates nothing once a thread's
// reusable buffers have grown.
#include <algorithm>
#include <array>

#include "filters/policy.hpp"
#include "filters/url_path.hpp"

namespace hallpass::filters {

bool Policy::client_allowed(const IpAddress& address) const {
  return std::any_of(clients_.begin(), clients_.end(),
                     [&](const auto& network) { return network.contains(address); });
}

Client Policy::identify(const IpAddress& address) const {
  for (const auto& entry : networks_) {
    if (entry.network.contains(address)) {
      return {address, entry.building, entry.role};
    }
  }
  // Unknown networks get the strictest treatment: the default building, as a student.
  return {address, 0, Role::student};
}

// One decide() call: walks the precedence steps in order. A step in monitor mode does not
// stop the walk; it is remembered and reported if nothing later blocks.
class Policy::Evaluation {
 public:
  struct Reasons {
    std::string_view block;
    std::string_view allow;
    std::string_view monitor;
  };
  static constexpr Reasons kCategoryReasons{"category_block", "category_allow", "category_monitor"};
  static constexpr Reasons kFunctionReasons{"social_function_block", "social_function_allow",
                                            "social_function_monitor"};

  Evaluation(const Policy& policy, const Client& client, const Request& request, Trace* trace)
      : policy_(policy),
        request_(request),
        building_(policy.buildings_[client.building]),
        profile_(policy.profiles_[building_.profile_for_role[static_cast<int>(client.role)]]),
        trace_(trace) {
    base_.building = building_.name;
    base_.role = client.role;
    for (const auto& schedule : profile_.schedules) {
      if (schedule.in_force(request.when) && active_count_ < active_.size()) {
        active_[active_count_++] = &schedule;
      }
    }
  }

  Decision run();

 private:
  // Applies the profile's action for `category`; returns true when the walk stops.
  bool apply(CategoryId category, Step step, std::string_view rule, Reasons reasons);
  Decision make(Action action, Step step, std::string_view category, std::string_view rule,
                std::string_view reason) const;
  // `text` is a callable: the words are only built when a trace was asked for.
  template <typename Text>
  void note(Step step, Text&& text) const {
    if (trace_ != nullptr) {
      trace_->steps.emplace_back(step, text());
    }
  }
  bool category_step();
  std::string by(std::string_view schedule) const {
    return schedule.empty() ? "policy " + profile_.name
                            : "schedule " + std::string(schedule) + " of policy " + profile_.name;
  }
  // The action for `category`: the first schedule in force that names it, else the profile.
  std::optional<CategoryAction> action_for(CategoryId category, std::string_view* schedule) const;

  const Policy& policy_;
  const Request& request_;
  const Building& building_;
  const Profile& profile_;
  Trace* trace_;
  Decision base_;
  std::optional<Decision> result_;
  std::optional<Decision> monitored_;
  bool tunnel_ = false;
  std::string_view path_;  // normalized path and query (empty for CONNECT)
  std::string_view url_;   // host + path_
  std::array<const Schedule*, 4> active_{};
  std::size_t active_count_ = 0;
};

std::optional<CategoryAction> Policy::Evaluation::action_for(CategoryId category,
                                                             std::string_view* schedule) const {
  for (std::size_t i = 0; i < active_count_; ++i) {
    if (const auto& action = active_[i]->category_action[category]) {
      if (schedule != nullptr) {
        *schedule = active_[i]->name;
      }
      return action;
    }
  }
  return profile_.category_action[category];
}

Decision Policy::Evaluation::make(Action action, Step step, std::string_view category,
                                  std::string_view rule, std::string_view reason) const {
  Decision decision = base_;
  decision.action = action;
  decision.step = step;
  decision.category = category;
  decision.rule = rule;
  decision.reason_code = reason;
  return decision;
}

bool Policy::Evaluation::apply(CategoryId category, Step step, std::string_view rule,
                               Reasons reasons) {
  const auto& name = policy_.categories_[category];
  std::string_view schedule;
  auto action = action_for(category, &schedule);
  if (!action) {
    note(step, [&] {
      return std::string("matched " + std::string(rule) + " (" + name + "), which policy " +
                         profile_.name + " does not mention: go on");
    });
    return false;
  }
  switch (*action) {
    case CategoryAction::block:
      note(step, [&] {
        return std::string("matched " + std::string(rule) + " (" + name + "): blocked by policy " +
                           profile_.name);
      });
      result_ = make(Action::block, step, name, rule, reasons.block);
      result_->schedule = schedule;
      return true;
    case CategoryAction::allow:
      note(step, [&] {
        return std::string("matched " + std::string(rule) + " (" + name + "): allowed by policy " +
                           profile_.name);
      });
      result_ = make(Action::allow, step, name, rule, reasons.allow);
      result_->schedule = schedule;
      return true;
    case CategoryAction::monitor:
      note(step, [&] {
        return std::string("matched " + std::string(rule) + " (" + name +
                           "): monitor mode, would block; go on");
      });
      if (!monitored_) {
        monitored_ = make(Action::allow, step, name, rule, reasons.monitor);
        monitored_->schedule = schedule;
        monitored_->would_block = true;
      }
      return false;
  }
  return false;
}

// Any matching category the profile blocks wins over ones it allows, so a domain listed as
// both "social" and "adult" is never let through by the more lenient list.
bool Policy::Evaluation::category_step() {
  std::optional<std::pair<CategoryId, std::string_view>> allowed;
  std::optional<std::pair<CategoryId, std::string_view>> blocked;
  std::optional<std::pair<CategoryId, std::string_view>> monitored;
  auto consider = [&](std::string_view entry, CategoryId id) {
    switch (action_for(id, nullptr)
                .value_or(profile_.default_action == Action::block ? CategoryAction::block
                                                                   : CategoryAction::allow)) {
      case CategoryAction::block:
        blocked = {id, entry};
        return false;
      case CategoryAction::monitor:
        monitored = monitored.value_or(std::pair{id, entry});
        break;
      case CategoryAction::allow:
        allowed = allowed.value_or(std::pair{id, entry});
        break;
    }
    return true;
  };
  policy_.lists_.for_each_match(request_.host, [&](std::string_view entry, auto ids) {
    for (CategoryId id : ids) {
      if (!consider(entry, id)) {
        return false;
      }
    }
    return true;
  });
  if (!blocked && !tunnel_) {
    policy_.url_rules_.for_each_match(request_.host, path_, url_, consider);
  }
  if (blocked) {
    return apply(blocked->first, Step::category, blocked->second, kCategoryReasons);
  }
  if (monitored) {
    apply(monitored->first, Step::category, monitored->second, kCategoryReasons);
  }
  if (allowed) {
    note(Step::category, [&] {
      return std::string("matched " + std::string(allowed->second) + " (" +
                         policy_.categories_[allowed->first] + "): allowed");
    });
    result_ = make(Action::allow, Step::category, policy_.categories_[allowed->first],
                   allowed->second, "category_allow");
    return true;
  }
  note(Step::category, [&] { return std::string("no category list matches"); });
  return false;
}

Decision Policy::Evaluation::run() {
  const auto& host = request_.host;
  if (auto rule = building_.allow.find(host); !rule.empty()) {
    note(Step::building_allow, [&] {
      return std::string("building " + building_.name + " allows " + std::string(rule));
    });
    return make(Action::allow, Step::building_allow, {}, rule, "building_allow");
  }
  if (auto rule = building_.block.find(host); !rule.empty()) {
    note(Step::building_block, [&] {
      return std::string("building " + building_.name + " blocks " + std::string(rule));
    });
    return make(Action::block, Step::building_block, {}, rule, "building_block");
  }
  if (auto rule = policy_.approved_.find(host); !rule.empty()) {
    note(Step::approved,
         [&] { return std::string(std::string(rule) + " is a district-approved platform"); });
    return make(Action::allow, Step::approved, {}, rule, "district_approved");
  }
  note(Step::approved,
       [&] { return std::string("not a building exception or a district-approved platform"); });

  thread_local std::string path;
  thread_local std::string url;
  bool tunnel = request_.method == "CONNECT";
  if (!tunnel) {
    normalize_path(request_.path, path);
    url.assign(host);
    url += path;
  } else {
    path.clear();
    url.clear();
  }
  tunnel_ = tunnel;
  path_ = path;
  url_ = url;

  if (policy_.anonymizer_) {
    auto listed = policy_.lists_.find_in(host, *policy_.anonymizer_);
    auto detection = listed.empty() ? policy_.detector_.detect(request_, path, url)
                                    : Detection{"anonymizer_list", listed};
    auto reason = detection.reason_code;
    if (!reason.empty() &&
        apply(*policy_.anonymizer_, Step::anonymizer, detection.rule, {reason, reason, reason})) {
      return *result_;
    }
    if (detection.reason_code.empty()) {
      note(Step::anonymizer,
           [&] { return std::string("no anonymizer list entry or signature matches"); });
    }
  }

  if (const auto* rule = policy_.functions_.match(host, request_.method, path)) {
    auto id = policy_.function_category_[rule - policy_.functions_.rules().data()];
    if (apply(id, Step::social_function, rule->id, kFunctionReasons)) {
      return *result_;
    }
  } else {
    note(Step::social_function,
         [&] { return std::string("no social-platform function rule matches"); });
  }

  if (category_step() && result_->action == Action::block) {
    return *result_;
  }
  if (monitored_) {
    return *monitored_;
  }
  if (result_) {
    return *result_;
  }
  auto reason =
      profile_.default_action == Action::block ? "policy_default_block" : "policy_default";
  note(Step::policy_default, [&] {
    return std::string("policy " + profile_.name +
                       " default: " + std::string(to_string(profile_.default_action)));
  });
  return make(profile_.default_action, Step::policy_default, {}, {}, reason);
}

Decision Policy::decide(const Client& client, const Request& request, Trace* trace) const {
  return Evaluation(*this, client, request, trace).run();
}

}  // namespace hallpass::filters

namespace hallpass::filters {

Enforcement Policy::enforcement(const Client& client, std::string_view host) const {
  const Profile& profile = profile_for(client);
  return enforcement_for(host, profile.safesearch,
                         profile.restrict_accounts ? &accounts_ : nullptr);
}

}  // namespace hallpass::filters
