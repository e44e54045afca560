// Prometheus metrics. Label values come only from bounded sets (buildings, roles,
// categories and reason codes of the loaded policy, fixed cause codes), never from URLs.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/record/outcome.hpp"
#include "proxy/record/top_blocked.hpp"

namespace hallpass::record {

class Metrics {
 public:
  Metrics();

  prometheus::Registry& registry() { return *registry_; }
  // Also brings the gauges computed at scrape time (policy age, top blocked) up to date.
  std::string serialize();

  void count_request(const Outcome& outcome);
  void connection_opened() { connections_active_.Increment(); }
  void connection_closed() { connections_active_.Decrement(); }
  void connection_refused(std::string_view reason);
  void upstream_error(std::string_view cause);
  void tunnel_opened() { tunnels_active_.Increment(); }
  void tunnel_closed() { tunnels_active_.Decrement(); }
  // TLS: a tunnel's fate (splice, intercept, block_page) and why decrypting one failed.
  void tls_tunnel(std::string_view fate);
  void inspect_failure(std::string_view reason);
  // The leaf cache's counts, copied in before each scrape (the cache keeps its own).
  void leaf_cache(std::uint64_t hits, std::uint64_t misses, std::size_t size);
  void observe_decision(double seconds) { decision_duration_.Observe(seconds); }
  void reload(bool ok);
  struct ListSize {
    std::string_view category;
    std::size_t domains;
  };
  void policy_loaded(double unix_seconds, std::size_t list_domains,
                     std::span<const ListSize> by_category);
  // Alert counters exist at 0 from the start, one per building and content category, so the
  // first alert is an increase to rules.
  void content_alert_series(std::span<const std::string> buildings,
                            std::span<const std::string> categories);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Cache = std::unordered_map<std::string, prometheus::Counter*, Hash, std::equal_to<>>;

  // Looks `values` up by their joined text; builds the label map only on first use.
  prometheus::Counter& cached(Cache& cache, prometheus::Family<prometheus::Counter>& family,
                              std::initializer_list<std::string_view> names,
                              std::initializer_list<std::string_view> values);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& upstream_errors_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Counter& reload_failures_;
  prometheus::Family<prometheus::Counter>& anonymizers_;
  prometheus::Family<prometheus::Counter>& tls_tunnels_;
  prometheus::Family<prometheus::Counter>& inspect_failures_;
  prometheus::Family<prometheus::Counter>& content_flags_;
  prometheus::Family<prometheus::Counter>& content_alerts_;
  prometheus::Family<prometheus::Gauge>& leaf_cache_;
  prometheus::Gauge& connections_active_;
  prometheus::Gauge& tunnels_active_;
  prometheus::Gauge& policy_loaded_time_;
  prometheus::Gauge& list_domains_;
  prometheus::Histogram& request_duration_;
  prometheus::Histogram& decision_duration_;
  prometheus::Family<prometheus::Counter>& body_bytes_;
  prometheus::Counter& body_bytes_scanned_;
  prometheus::Counter& body_bytes_not_scanned_;
  prometheus::Gauge& policy_age_;
  prometheus::Family<prometheus::Gauge>& list_entries_;
  prometheus::Family<prometheus::Gauge>& top_blocked_family_;
  std::atomic<double> policy_loaded_at_{0};
  std::vector<std::string> listed_categories_;
  TopBlocked top_blocked_;
  // The top-blocked gauges shown at the last scrape, so domains that left the top are removed.
  std::mutex scrape_mutex_;
  std::unordered_map<std::string, prometheus::Gauge*> top_blocked_shown_;
  // Family::Add takes a lock and builds a label map; the common label sets are looked up
  // here once and reused. The mutex is held for a hash lookup only.
  std::mutex cache_mutex_;
  Cache request_cache_;
  Cache refused_cache_;
  Cache upstream_cache_;
  Cache anonymizer_cache_;
  Cache tls_cache_;
  Cache inspect_cache_;
  Cache content_cache_;
  Cache alert_cache_;
};

// Counts one tunnel in hallpass_tunnels_active for as long as it lives: from the 200 to a
// CONNECT (waiting for the client's first bytes included) or from a transparent ClientHello,
// through splice or interception, to the close.
class OpenTunnel {
 public:
  explicit OpenTunnel(Metrics& metrics) : metrics_(metrics) { metrics_.tunnel_opened(); }
  ~OpenTunnel() { metrics_.tunnel_closed(); }
  OpenTunnel(const OpenTunnel&) = delete;
  OpenTunnel& operator=(const OpenTunnel&) = delete;

 private:
  Metrics& metrics_;
};

}  // namespace hallpass::record
