// decide() cost over a generated list, the hot path of every request.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "filters/policy.hpp"

namespace {

using namespace hallpass::filters;

// A policy whose one category list holds `count` generated domains (served from memory).
std::shared_ptr<const Policy> make_policy(std::size_t count) {
  std::string list;
  for (std::size_t i = 0; i < count; ++i) {
    list += "site" + std::to_string(i) + ".example" + std::to_string(i % 97) + ".test\n";
  }
  PolicySpec spec;
  spec.clients.push_back(*IpNetwork::parse("0.0.0.0/0"));
  spec.lists.push_back({"generated", "mem", {}});
  spec.profiles.push_back({"p", Action::allow, {{"generated", Action::block}}, {}});
  spec.buildings.push_back({"default", {}, "p", "p", {}, {}, {}});
  return Policy::build(spec, [&](const std::string&) { return list; });
}

void BM_Decide(benchmark::State& state) {
  auto policy = make_policy(static_cast<std::size_t>(state.range(0)));
  auto client = policy->identify(*IpAddress::parse("10.0.0.1"));
  std::vector<std::string> hosts;
  for (int i = 0; i < 1024; ++i) {
    hosts.push_back(i % 2 ? "www.site" + std::to_string(i * 7) + ".example" +
                                std::to_string((i * 7) % 97) + ".test"
                          : "cdn" + std::to_string(i) + ".unlisted.example.org");
  }
  std::size_t i = 0;
  for (auto _ : state) {
    auto decision = policy->decide(client, {"GET", hosts[i++ & 1023], 80, "/"});
    benchmark::DoNotOptimize(decision);
  }
}
BENCHMARK(BM_Decide)->Arg(1000)->Arg(100000)->Arg(1000000);

}  // namespace

BENCHMARK_MAIN();
