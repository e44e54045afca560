#include "proxy/record/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <chrono>

#include "proxy/version.hpp"

namespace hallpass::record {

namespace {

prometheus::Histogram::BucketBoundaries duration_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

// A decision is a few hash lookups: microseconds, with a tail for Hyperscan URL patterns.
prometheus::Histogram::BucketBoundaries decision_buckets() {
  return {0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005,
          0.0001,   0.00025,   0.0005,   0.001,   0.0025};
}

// Top blocked domains: how many become labels per building, and how many the sketch
// follows to find them (more tracked than shown keeps the shown ones accurate).
constexpr std::size_t kTopShown = 10;
constexpr std::size_t kTopTracked = 100;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("hallpass_requests_total")
                    .Help("Requests decided, by building, role, category, action and reason")
                    .Register(*registry_)),
      refused_(prometheus::BuildCounter()
                   .Name("hallpass_connections_refused_total")
                   .Help("Client connections refused before any request, by reason")
                   .Register(*registry_)),
      upstream_errors_(prometheus::BuildCounter()
                           .Name("hallpass_upstream_errors_total")
                           .Help("Failures talking to upstream servers, by cause")
                           .Register(*registry_)),
      reloads_(prometheus::BuildCounter()
                   .Name("hallpass_config_reloads_total")
                   .Help("Policy reloads, by result")
                   .Register(*registry_)),
      reload_failures_(prometheus::BuildCounter()
                           .Name("hallpass_config_reload_failures_total")
                           .Help("Reloads refused because the new config or a list was invalid")
                           .Register(*registry_)
                           .Add({})),
      anonymizers_(prometheus::BuildCounter()
                       .Name("hallpass_anonymizer_detections_total")
                       .Help("Anonymizer detections, by method (list, signature, ip_literal, "
                             "doh, not_tls, no_sni, fronting)")
                       .Register(*registry_)),
      tls_tunnels_(prometheus::BuildCounter()
                       .Name("hallpass_tls_tunnels_total")
                       .Help("TLS tunnels by fate: splice, intercept, block_page")
                       .Register(*registry_)),
      inspect_failures_(prometheus::BuildCounter()
                            .Name("hallpass_tls_inspect_failures_total")
                            .Help("Tunnels the policy said to decrypt where that failed, by reason")
                            .Register(*registry_)),
      content_flags_(prometheus::BuildCounter()
                         .Name("hallpass_content_flags_total")
                         .Help("Content pattern matches in requests, by building, category and "
                               "severity")
                         .Register(*registry_)),
      content_alerts_(prometheus::BuildCounter()
                          .Name("hallpass_content_alerts_total")
                          .Help("Requests whose content reached an alert threshold (page a "
                                "person), by building and category")
                          .Register(*registry_)),
      leaf_cache_(prometheus::BuildGauge()
                      .Name("hallpass_tls_leaf_cache")
                      .Help("Minted leaf certificate cache: hits, misses (counts) and size")
                      .Register(*registry_)),
      connections_active_(prometheus::BuildGauge()
                              .Name("hallpass_connections_active")
                              .Help("Client connections open now")
                              .Register(*registry_)
                              .Add({})),
      tunnels_active_(prometheus::BuildGauge()
                          .Name("hallpass_tunnels_active")
                          .Help("Tunnels open now: CONNECT (from its 200, first bytes not yet sent "
                                "included) and transparent TLS")
                          .Register(*registry_)
                          .Add({})),
      policy_loaded_time_(prometheus::BuildGauge()
                              .Name("hallpass_policy_loaded_timestamp_seconds")
                              .Help("When the policy in force was loaded (Unix time)")
                              .Register(*registry_)
                              .Add({})),
      list_domains_(prometheus::BuildGauge()
                        .Name("hallpass_list_domains")
                        .Help("Domains in the loaded category lists")
                        .Register(*registry_)
                        .Add({})),
      request_duration_(prometheus::BuildHistogram()
                            .Name("hallpass_request_duration_seconds")
                            .Help("Time from request head to the end of the response")
                            .Register(*registry_)
                            .Add({}, duration_buckets())),
      decision_duration_(prometheus::BuildHistogram()
                             .Name("hallpass_decision_duration_seconds")
                             .Help("Time the policy took to decide one request or tunnel")
                             .Register(*registry_)
                             .Add({}, decision_buckets())),
      body_bytes_(prometheus::BuildCounter()
                      .Name("hallpass_request_body_bytes_total")
                      .Help("Request body bytes from clients, by whether the content scanner "
                            "read them (binary types are only counted)")
                      .Register(*registry_)),
      body_bytes_scanned_(body_bytes_.Add({{"scanned", "yes"}})),
      body_bytes_not_scanned_(body_bytes_.Add({{"scanned", "no"}})),
      policy_age_(prometheus::BuildGauge()
                      .Name("hallpass_policy_age_seconds")
                      .Help("Seconds since the policy in force was loaded")
                      .Register(*registry_)
                      .Add({})),
      list_entries_(prometheus::BuildGauge()
                        .Name("hallpass_list_entries")
                        .Help("Domains in each category's lists")
                        .Register(*registry_)),
      top_blocked_family_(prometheus::BuildGauge()
                              .Name("hallpass_top_blocked_domains")
                              .Help("Blocks of the most blocked registrable domains per building "
                                    "(space-saving estimate, 10 shown), the rest as other")
                              .Register(*registry_)),
      top_blocked_(kTopShown, kTopTracked) {
  prometheus::BuildGauge()
      .Name("hallpass_build_info")
      .Help("The running Hallpass version")
      .Register(*registry_)
      .Add({{"version", kVersion}})
      .Set(1);
  // Present from the start so dashboards and alerts see zeros, not absent series.
  reloads_.Add({{"result", "success"}});
  reloads_.Add({{"result", "failure"}});
  for (const char* method : {"list", "signature", "ip_literal", "doh", "not_tls", "no_sni",
                             "fronting", "host_mismatch"}) {
    anonymizers_.Add({{"method", method}});
  }
  for (const char* fate : {"splice", "intercept", "block_page"}) {
    tls_tunnels_.Add({{"fate", fate}});
  }
}

std::string Metrics::serialize() {
  {
    std::lock_guard lock(scrape_mutex_);
    policy_age_.Set(unix_now() - policy_loaded_at_.load(std::memory_order_relaxed));
    std::unordered_map<std::string, prometheus::Gauge*> shown;
    for (const auto& row : top_blocked_.rows()) {
      auto key = row.building + '\0' + row.domain;
      auto& gauge = top_blocked_family_.Add({{"building", row.building}, {"domain", row.domain}});
      gauge.Set(static_cast<double>(row.blocks));
      top_blocked_shown_.erase(key);
      shown.emplace(std::move(key), &gauge);
    }
    for (auto& [key, gauge] : top_blocked_shown_) {  // left the top since the last scrape
      top_blocked_family_.Remove(gauge);
    }
    top_blocked_shown_ = std::move(shown);
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

prometheus::Counter& Metrics::cached(Cache& cache, prometheus::Family<prometheus::Counter>& family,
                                     std::initializer_list<std::string_view> names,
                                     std::initializer_list<std::string_view> values) {
  thread_local std::string key;
  key.clear();
  for (auto value : values) {
    key += value;
    key.push_back('\0');
  }
  std::lock_guard lock(cache_mutex_);
  if (auto it = cache.find(std::string_view(key)); it != cache.end()) {
    return *it->second;
  }
  prometheus::Labels labels;
  auto value = values.begin();
  for (auto name : names) {
    labels.emplace(std::string(name), std::string(*value++));
  }
  auto& counter = family.Add(labels);
  cache.emplace(key, &counter);
  return counter;
}

void Metrics::count_request(const Outcome& outcome) {
  const auto& d = outcome.decision;
  cached(request_cache_, requests_, {"building", "role", "category", "action", "reason", "mode"},
         {d.building, filters::to_string(d.role), d.category.empty() ? "none" : d.category,
          filters::to_string(d.action), d.reason_code, outcome.mode})
      .Increment();
  if (d.step == filters::Step::anonymizer && d.reason_code.starts_with("anonymizer_")) {
    auto method = d.reason_code.substr(std::string_view("anonymizer_").size());
    cached(anonymizer_cache_, anonymizers_, {"method"}, {method}).Increment();
  }
  for (const auto& flag : outcome.flags) {
    cached(content_cache_, content_flags_, {"building", "category", "severity"},
           {d.building, flag.category, filters::to_string(flag.severity)})
        .Increment();
  }
  if (d.action == filters::Action::block && !outcome.host.empty()) {
    top_blocked_.add(d.building, outcome.host);
  }
  if (d.alert) {
    cached(alert_cache_, content_alerts_, {"building", "category"},
           {d.building, outcome.content_category})
        .Increment();
  }
  if (outcome.body != Outcome::Body::none) {
    (outcome.body == Outcome::Body::scanned ? body_bytes_scanned_ : body_bytes_not_scanned_)
        .Increment(static_cast<double>(outcome.bytes_from_client));
  }
  request_duration_.Observe(outcome.duration_seconds);
}

void Metrics::connection_refused(std::string_view reason) {
  cached(refused_cache_, refused_, {"reason"}, {reason}).Increment();
}

void Metrics::content_alert_series(std::span<const std::string> buildings,
                                   std::span<const std::string> categories) {
  for (const auto& building : buildings) {
    for (const auto& category : categories) {
      cached(alert_cache_, content_alerts_, {"building", "category"}, {building, category});
    }
  }
}

void Metrics::upstream_error(std::string_view cause) {
  cached(upstream_cache_, upstream_errors_, {"cause"}, {cause}).Increment();
}

void Metrics::tls_tunnel(std::string_view fate) {
  cached(tls_cache_, tls_tunnels_, {"fate"}, {fate}).Increment();
}

void Metrics::inspect_failure(std::string_view reason) {
  cached(inspect_cache_, inspect_failures_, {"reason"}, {reason}).Increment();
}

void Metrics::leaf_cache(std::uint64_t hits, std::uint64_t misses, std::size_t size) {
  leaf_cache_.Add({{"value", "hits"}}).Set(static_cast<double>(hits));
  leaf_cache_.Add({{"value", "misses"}}).Set(static_cast<double>(misses));
  leaf_cache_.Add({{"value", "size"}}).Set(static_cast<double>(size));
}

void Metrics::reload(bool ok) {
  reloads_.Add({{"result", ok ? "success" : "failure"}}).Increment();
  if (!ok) {
    reload_failures_.Increment();
  }
}

void Metrics::policy_loaded(double unix_seconds, std::size_t list_domains,
                            std::span<const ListSize> by_category) {
  policy_loaded_time_.Set(unix_seconds);
  policy_loaded_at_.store(unix_seconds, std::memory_order_relaxed);
  list_domains_.Set(static_cast<double>(list_domains));
  // Categories are the policy's own (bounded); one the new policy dropped shows 0.
  for (const auto& category : listed_categories_) {
    list_entries_.Add({{"category", category}}).Set(0);
  }
  listed_categories_.clear();
  for (const auto& size : by_category) {
    listed_categories_.emplace_back(size.category);
    list_entries_.Add({{"category", std::string(size.category)}})
        .Set(static_cast<double>(size.domains));
  }
}

}  // namespace hallpass::record
