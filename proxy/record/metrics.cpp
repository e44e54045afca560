#include "proxy/record/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace hallpass::record {

namespace {

prometheus::Histogram::BucketBoundaries duration_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
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
                         .Help("Content pattern matches in requests, by category and severity")
                         .Register(*registry_)),
      content_alerts_(prometheus::BuildCounter()
                          .Name("hallpass_content_alerts_total")
                          .Help("Requests whose content reached an alert threshold (page a "
                                "person), by category")
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
                          .Help("CONNECT tunnels open now")
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
                            .Add({}, duration_buckets())) {
  // Present from the start so dashboards and alerts see zeros, not absent series.
  reloads_.Add({{"result", "success"}});
  reloads_.Add({{"result", "failure"}});
  for (const char* method : {"list", "signature", "ip_literal", "doh", "not_tls", "no_sni",
                             "fronting", "host_mismatch"}) {
    anonymizers_.Add({{"method", method}});
  }
}

std::string Metrics::serialize() const {
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
    cached(content_cache_, content_flags_, {"category", "severity"},
           {flag.category, filters::to_string(flag.severity)})
        .Increment();
  }
  if (d.alert) {
    cached(alert_cache_, content_alerts_, {"category"}, {outcome.content_category}).Increment();
  }
  request_duration_.Observe(outcome.duration_seconds);
}

void Metrics::connection_refused(std::string_view reason) {
  cached(refused_cache_, refused_, {"reason"}, {reason}).Increment();
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

void Metrics::policy_loaded(double unix_seconds, std::size_t list_domains) {
  policy_loaded_time_.Set(unix_seconds);
  list_domains_.Set(static_cast<double>(list_domains));
}

}  // namespace hallpass::record
