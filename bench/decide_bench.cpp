// decide() cost, the hot path of every request: the embedded default policy (function
// rules, anonymizer signatures, shipped lists) plus a generated category list of N domains.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"

namespace {

using namespace hallpass;

std::shared_ptr<const filters::Policy> make_policy(std::size_t count) {
  auto config = config::load_config(std::string(config::kEmbeddedDefault));
  std::string list;
  list.reserve(count * 32);
  for (std::size_t i = 0; i < count; ++i) {
    list += "site" + std::to_string(i) + ".example" + std::to_string(i % 97) + ".test\n";
  }
  config.policy.lists.push_back({"generated", "generated", {}});
  for (auto& profile : config.policy.profiles) {
    profile.categories.emplace_back("generated", filters::CategoryAction::block);
  }
  return filters::Policy::build(config.policy, [&](const std::string& path) {
    return path == "generated/domains" ? std::optional<std::string>(list) : config::read_file(path);
  });
}

// A mix: listed and unlisted hosts, social paths (function rules and their Hyperscan scan),
// and CONNECTs.
struct Ask {
  std::string method;
  std::string host;
  std::uint16_t port;
  std::string path;
};

std::vector<Ask> make_requests() {
  std::vector<Ask> asks;
  for (int i = 0; i < 1024; ++i) {
    switch (i % 4) {
      case 0:
        asks.push_back({"GET",
                        "www.site" + std::to_string(i * 7) + ".example" +
                            std::to_string((i * 7) % 97) + ".test",
                        80, "/"});
        break;
      case 1:
        asks.push_back({"GET", "cdn" + std::to_string(i) + ".unlisted.example.org", 80,
                        "/assets/app.js?v=" + std::to_string(i)});
        break;
      case 2:
        asks.push_back({"GET", "www.instagram.com", 443,
                        i % 8 == 2 ? "/direct/inbox/" : "/p/" + std::to_string(i) + "/"});
        break;
      default:
        asks.push_back({"CONNECT", "host" + std::to_string(i) + ".example.net", 443, ""});
    }
  }
  return asks;
}

void BM_Decide(benchmark::State& state) {
  auto policy = make_policy(static_cast<std::size_t>(state.range(0)));
  auto client = policy->identify(*filters::IpAddress::parse("10.10.16.9"));
  auto asks = make_requests();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& ask = asks[i++ & 1023];
    auto decision = policy->decide(client, {ask.method, ask.host, ask.port, ask.path, {}, {}});
    benchmark::DoNotOptimize(decision);
  }
}
BENCHMARK(BM_Decide)->Arg(1000)->Arg(2000000);

// The distribution, not just the mean: every call timed on its own (the clock reads cost
// about 20 ns each and are included), reported as median and p99 counters.
void BM_DecideLatency(benchmark::State& state) {
  auto policy = make_policy(static_cast<std::size_t>(state.range(0)));
  auto client = policy->identify(*filters::IpAddress::parse("10.10.16.9"));
  auto asks = make_requests();
  std::vector<std::int64_t> samples;
  samples.reserve(1 << 20);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& ask = asks[i++ & 1023];
    auto start = std::chrono::steady_clock::now();
    auto decision = policy->decide(client, {ask.method, ask.host, ask.port, ask.path, {}, {}});
    benchmark::DoNotOptimize(decision);
    auto took = std::chrono::steady_clock::now() - start;
    if (samples.size() < samples.capacity()) {
      samples.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
    }
  }
  auto at = [&](double q) {
    auto k = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1));
    std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k),
                     samples.end());
    return static_cast<double>(samples[k]);
  };
  if (!samples.empty()) {
    state.counters["median_ns"] = at(0.5);
    state.counters["p99_ns"] = at(0.99);
  }
}
BENCHMARK(BM_DecideLatency)->Arg(2000000)->Iterations(1000000);

}  // namespace

BENCHMARK_MAIN();
