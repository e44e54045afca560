// Content scanning throughput, the design goal of DESIGN.md ("content scanning at memory
// speed"): 64 MiB of post bodies (JSON chat messages, forms, plain text; about 3 % carrying a
// risky snippet) decoded, normalized and scanned with the shipped pattern sets, one core.
// Reports bytes per second of body through the whole path, and through its parts.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "filters/body_decoder.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"

namespace {

using namespace hallpass;

struct Body {
  filters::BodyDecoder::Kind kind;
  std::string bytes;
};

constexpr const char* kWords[] = {
    "the",      "homework", "is",      "due",    "tomorrow", "can",     "you",    "send",
    "me",       "notes",    "from",    "class",  "we",       "should",  "meet",   "at",
    "library",  "after",    "school",  "game",   "was",      "awesome", "did",    "see",
    "teacher",  "said",     "project", "group",  "chapter",  "science", "math",   "lunch",
    "practice", "coach",    "weekend", "movie",  "really",   "funny",   "thanks", "okay",
    "history",  "essay",    "quiz",    "friday", "bus",      "late",    "music",  "band"};

constexpr const char* kRisky[] = {"i want to kill myself",       "call me at 617-555-0123",
                                  "nobody likes you loser",      "selling carts 35$ a gram",
                                  "my address is 12 Elm Street", "send nudes"};

std::vector<Body> make_bodies(std::size_t total) {
  std::mt19937_64 random(7);
  std::vector<Body> bodies;
  std::size_t made = 0;
  while (made < total) {
    std::string text;
    auto words = 30 + random() % 600;
    for (std::size_t i = 0; i < words; ++i) {
      text += kWords[random() % std::size(kWords)];
      text += i % 17 == 16 ? ". " : " ";
    }
    if (random() % 100 < 3) {
      text.insert(random() % text.size(),
                  std::string(" ") + kRisky[random() % std::size(kRisky)] + " ");
    }
    Body body;
    switch (random() % 3) {
      case 0:
        body = {filters::BodyDecoder::Kind::json,
                "{\"thread\":\"" + std::to_string(random()) + "\",\"text\":\"" + text + "\"}"};
        break;
      case 1: {
        std::string form = "thread=" + std::to_string(random()) + "&message=";
        for (char c : text) {
          form += c == ' ' ? std::string("+") : std::string(1, c);
        }
        body = {filters::BodyDecoder::Kind::form, form};
        break;
      }
      default:
        body = {filters::BodyDecoder::Kind::text, text};
    }
    made += body.bytes.size();
    bodies.push_back(std::move(body));
  }
  return bodies;
}

const std::vector<Body>& bodies() {
  static auto made = make_bodies(64u << 20);
  return made;
}

std::shared_ptr<const filters::Policy> policy() {
  static auto built =
      config::build_policy(config::load_config(std::string(config::kEmbeddedDefault)));
  return built;
}

std::size_t total_bytes() {
  std::size_t n = 0;
  for (const auto& body : bodies()) {
    n += body.bytes.size();
  }
  return n;
}

// Decode, normalize and scan each body in 16 KiB pieces, as the proxy reads them.
void BM_ScanBodies(benchmark::State& state) {
  auto p = policy();
  std::size_t flagged = 0;
  std::string text;
  for (auto _ : state) {
    flagged = 0;
    for (const auto& body : bodies()) {
      filters::BodyDecoder decoder(body.kind);
      filters::ContentScanner::Scan scan(p->content_scanner());
      for (std::size_t at = 0; at < body.bytes.size(); at += 16384) {
        text.clear();
        decoder.feed(std::string_view(body.bytes).substr(at, 16384), text);
        scan.feed(text);
      }
      text.clear();
      decoder.finish(text);
      scan.feed(text);
      scan.finish();
      flagged += scan.matched().empty() ? 0 : 1;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
  state.counters["bodies"] = static_cast<double>(bodies().size());
  state.counters["flagged"] = static_cast<double>(flagged);
}
BENCHMARK(BM_ScanBodies)->Unit(benchmark::kMillisecond)->MinTime(3);

// The normalizer alone, over the same bytes.
void BM_NormalizeOnly(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    for (const auto& body : bodies()) {
      filters::TextNormalizer normalizer;
      out.clear();
      normalizer.feed(body.bytes, out);
      normalizer.finish(out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
}
BENCHMARK(BM_NormalizeOnly)->Unit(benchmark::kMillisecond)->MinTime(3);

}  // namespace

BENCHMARK_MAIN();
