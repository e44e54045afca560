// Leaf certificates for intercepted TLS: what a mint costs, what a cache hit costs, and the
// hit rate under a realistic host mix (Zipf-distributed visits over many hosts, as web
// traffic is) for the default cache size. The CA is made with the openssl CLI in a temp
// folder for the run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "proxy/tls/cert_authority.hpp"
#include "proxy/tls/leaf_cache.hpp"

namespace {

using namespace hallpass;

// A throwaway CA written to a private temp folder, loaded like the district's.
std::shared_ptr<const tls::CertAuthority> make_authority() {
  auto dir = std::filesystem::temp_directory_path() / "hallpass-leaf-bench";
  std::filesystem::create_directories(dir);
  auto cert = (dir / "ca.pem").string();
  auto key = (dir / "ca.key").string();
  std::string command =
      "umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-days 2 -subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE "
      "-addext keyUsage=critical,keyCertSign,cRLSign -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "openssl could not make the bench CA\n");
    std::exit(1);
  }
  auto loaded = tls::CertAuthority::load(cert, key);
  if (auto* error = std::get_if<std::string>(&loaded)) {
    std::fprintf(stderr, "%s\n", error->c_str());
    std::exit(1);
  }
  return std::get<0>(loaded);
}

const std::shared_ptr<const tls::CertAuthority>& authority() {
  static auto ca = make_authority();
  return ca;
}

void BM_Mint(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    auto leaf = authority()->mint("host" + std::to_string(i++) + ".example.org");
    benchmark::DoNotOptimize(leaf);
  }
}
BENCHMARK(BM_Mint)->Unit(benchmark::kMicrosecond);

void BM_CacheHit(benchmark::State& state) {
  tls::LeafCache cache(authority(), 10000);
  cache.get("www.instagram.com");
  for (auto _ : state) {
    auto leaf = cache.get("www.instagram.com");
    benchmark::DoNotOptimize(leaf);
  }
}
BENCHMARK(BM_CacheHit);

// Visits drawn from a Zipf(1.0) law over `hosts` names (rank 1 most visited), a fixed seed;
// the cache has the default capacity, 10,000. Reported: the hit rate once warm.
void BM_HitRateZipf(benchmark::State& state) {
  auto hosts = static_cast<std::size_t>(state.range(0));
  std::vector<double> cdf(hosts);
  double sum = 0;
  for (std::size_t rank = 1; rank <= hosts; ++rank) {
    sum += 1.0 / static_cast<double>(rank);
    cdf[rank - 1] = sum;
  }
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> uniform(0, sum);
  auto draw = [&] {
    return static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), uniform(random)) -
                                    cdf.begin());
  };
  double rate = 0;
  for (auto _ : state) {
    tls::LeafCache cache(authority(), 10000);
    for (int i = 0; i < 20000; ++i) {  // warm-up, not counted
      cache.get("h" + std::to_string(draw()) + ".example.org");
    }
    auto before = cache.stats();
    for (int i = 0; i < 50000; ++i) {
      cache.get("h" + std::to_string(draw()) + ".example.org");
    }
    auto after = cache.stats();
    rate = static_cast<double>(after.hits - before.hits) /
           static_cast<double>(after.hits + after.misses - before.hits - before.misses);
  }
  state.counters["hit_rate"] = rate;
}
BENCHMARK(BM_HitRateZipf)->Arg(20000)->Arg(100000)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
