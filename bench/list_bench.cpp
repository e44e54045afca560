// Big UT1-style lists (../shared/bench/lists/gen.py): load time, memory, lookup cost and
// correctness over the generated queries, through the same Policy::decide the proxy uses.
//   hallpass_list_bench /tmp/listbench/data/blacklists/bench /tmp/listbench/data/queries.tsv
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "filters/host.hpp"
#include "filters/policy.hpp"
#include "proxy/http/target.hpp"

namespace {

using namespace hallpass;
using Clock = std::chrono::steady_clock;

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

struct Query {
  std::string host;
  std::string path;
  bool expect_block;
  std::string kind;
};

std::vector<Query> read_queries(const std::string& path) {
  std::vector<Query> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    auto tab2 = line.find('\t', tab + 1);
    auto url = line.substr(0, tab);
    auto target = http::parse_absolute_target(url.starts_with("http") ? url : "http://" + url);
    if (!target.target) {
      continue;
    }
    out.push_back({target.target->host, target.target->path,
                   line.substr(tab + 1, tab2 - tab - 1) == "block", line.substr(tab2 + 1)});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: hallpass_list_bench CATEGORY_DIR QUERIES_TSV\n";
    return 2;
  }
  filters::PolicySpec spec;
  spec.clients.push_back(*filters::IpNetwork::parse("0.0.0.0/0"));
  spec.lists.push_back({"bench", argv[1], {}});
  spec.profiles.push_back({"p",
                           filters::Action::allow,
                           {{"bench", filters::CategoryAction::block}},
                           filters::SafeSearch::off,
                           false,
                           {}});
  spec.buildings.push_back({"default", {}, "p", "p", {}, {}, {}});

  auto rss_before = rss_kib();
  auto start = Clock::now();
  auto policy = filters::Policy::build(spec, slurp);
  auto load_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  auto rss_after = rss_kib();

  auto queries = read_queries(argv[2]);
  auto client = policy->identify(*filters::IpAddress::parse("10.0.0.1"));
  std::map<std::string, std::pair<long, long>> by_kind;  // kind → (right, wrong)
  start = Clock::now();
  long blocked = 0;
  std::vector<bool> answers(queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const auto& q = queries[i];
    answers[i] = policy->decide(client, {"GET", q.host, 80, q.path, {}, {}}).action ==
                 filters::Action::block;
  }
  auto lookup_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // Per-decision latency on a second pass (the clock reads cost ~20 ns each, included).
  std::vector<double> each(queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const auto& q = queries[i];
    auto t0 = Clock::now();
    auto decision = policy->decide(client, {"GET", q.host, 80, q.path, {}, {}});
    auto t1 = Clock::now();
    asm volatile("" : : "r"(&decision) : "memory");
    each[i] = std::chrono::duration<double, std::nano>(t1 - t0).count();
  }
  std::sort(each.begin(), each.end());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    auto& [right, wrong] = by_kind[queries[i].kind];
    (answers[i] == queries[i].expect_block ? right : wrong)++;
    blocked += answers[i];
  }

  std::printf("domains loaded:   %zu\n", policy->counts().list_domains);
  std::printf("load time:        %.3f s\n", load_seconds);
  std::printf("RSS for the list: %.1f MiB (%.1f -> %.1f MiB)\n", (rss_after - rss_before) / 1024.0,
              rss_before / 1024.0, rss_after / 1024.0);
  std::printf("queries:          %zu, blocked %ld\n", queries.size(), blocked);
  std::printf("decide():         %.0f ns mean (whole decision, one core)\n",
              lookup_seconds * 1e9 / static_cast<double>(queries.size()));
  std::printf("decide() timed:   median %.0f ns, p99 %.0f ns\n", each[each.size() / 2],
              each[each.size() * 99 / 100]);
  long wrong_total = 0;
  for (const auto& [kind, counts] : by_kind) {
    std::printf("  %-6s right %ld, wrong %ld\n", kind.c_str(), counts.first, counts.second);
    wrong_total += counts.second;
  }
  return wrong_total == 0 ? 0 : 1;
}
