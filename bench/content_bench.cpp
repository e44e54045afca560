// Content scanning throughput, the design goal of DESIGN.md ("content scanning at memory
// speed"): 64 MiB of post bodies (JSON chat messages, forms, plain text; about 3 % carrying a
// risky snippet) decoded, normalized and scanned with the shipped pattern sets, one core.
// Reports bytes per second of body through the whole path, and through its parts (decoder,
// normalizer, each Hyperscan database alone), and RE2::Set and std::regex with the same
// patterns as points of comparison.
#include <benchmark/benchmark.h>
#ifdef HALLPASS_BENCH_RE2
#include <re2/re2.h>
#include <re2/set.h>
#endif

#include <cctype>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "filters/body_decoder.hpp"
#include "filters/pattern_set.hpp"
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

const config::Config& default_config() {
  static const auto loaded = config::load_config(std::string(config::kEmbeddedDefault));
  return loaded;
}

std::shared_ptr<const filters::Policy> policy() {
  static auto built = config::build_policy(default_config());
  return built;
}

std::size_t total_bytes() {
  std::size_t n = 0;
  for (const auto& body : bodies()) {
    n += body.bytes.size();
  }
  return n;
}

// Decode, normalize and scan each body in 16 KiB pieces, as the proxy reads them: each body
// kept and scanned whole, in block mode, as the scanner does with texts up to
// kWholeTextBytes (arg 1), or streamed from its first byte, as it does with longer ones
// (arg 0).
void BM_ScanBodies(benchmark::State& state) {
  auto p = policy();
  auto whole_text_bytes = state.range(0) == 1 ? filters::ContentScanner::kWholeTextBytes : 0;
  std::size_t flagged = 0;
  std::string text;
  for (auto _ : state) {
    flagged = 0;
    for (const auto& body : bodies()) {
      filters::BodyDecoder decoder(body.kind);
      filters::ContentScanner::Scan scan(p->content_scanner(), whole_text_bytes);
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
  state.SetLabel(whole_text_bytes > 0 ? "whole texts, block mode" : "streamed");
}
BENCHMARK(BM_ScanBodies)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->MinTime(3);

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

// What the decoders make of each body, decoded once: the input of the parts below.
const std::vector<std::string>& decoded() {
  static const auto made = [] {
    std::vector<std::string> texts;
    for (const auto& body : bodies()) {
      filters::BodyDecoder decoder(body.kind);
      std::string text;
      decoder.feed(body.bytes, text);
      decoder.finish(text);
      texts.push_back(std::move(text));
    }
    return texts;
  }();
  return made;
}

const std::vector<std::string>& normalized() {
  static const auto made = [] {
    std::vector<std::string> texts;
    for (const auto& text : decoded()) {
      texts.push_back(filters::TextNormalizer::normalize(text));
    }
    return texts;
  }();
  return made;
}

void BM_DecodeOnly(benchmark::State& state) {
  std::string text;
  for (auto _ : state) {
    for (const auto& body : bodies()) {
      filters::BodyDecoder decoder(body.kind);
      text.clear();
      decoder.feed(body.bytes, text);
      decoder.finish(text);
      benchmark::DoNotOptimize(text.data());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
}
BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMillisecond)->MinTime(3);

// The normalizer over decoded text, as the scanner runs it (form bodies' '+' already spaces).
void BM_NormalizeDecoded(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    for (const auto& text : decoded()) {
      filters::TextNormalizer normalizer;
      out.clear();
      normalizer.feed(text, out);
      normalizer.finish(out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
}
BENCHMARK(BM_NormalizeDecoded)->Unit(benchmark::kMillisecond)->MinTime(3);

std::vector<filters::PatternSource> sources(bool normalize) {
  std::vector<filters::PatternSource> out;
  for (const auto& spec : default_config().policy.content_patterns) {
    if (spec.normalize == normalize) {
      out.push_back(
          {spec.regex, spec.caseless, spec.id, spec.dotall, spec.multiline, spec.utf8, spec.ucp});
    }
  }
  return out;
}

// One Hyperscan database alone over every body: the raw set over the decoded text (first
// arg 0), the normalized set over the normalized text (1); streamed in 16 KiB pieces as the
// scanner feeds a long body (second arg 0), or each body scanned whole in block mode (1).
void BM_HyperscanSet(benchmark::State& state) {
  bool normalize = state.range(0) == 1;
  bool block = state.range(1) == 1;
  filters::PatternSet set(sources(normalize), block ? filters::PatternSet::Mode::block
                                                    : filters::PatternSet::Mode::stream);
  const auto& texts = normalize ? normalized() : decoded();
  std::size_t matches = 0;
  for (auto _ : state) {
    matches = 0;
    for (const auto& text : texts) {
      if (block) {
        set.scan(text, [&](unsigned) { ++matches; });
        continue;
      }
      auto stream = set.open_stream();
      for (std::size_t at = 0; at < text.size(); at += 16384) {
        stream.feed(std::string_view(text).substr(at, 16384), [&](unsigned) { ++matches; });
      }
      stream.close([&](unsigned) { ++matches; });
    }
  }
  state.SetLabel(std::string(normalize ? "normalized set" : "raw set") +
                 (block ? ", block mode" : ", stream mode"));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
  state.counters["matches"] = static_cast<double>(matches);
}
BENCHMARK(BM_HyperscanSet)
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3);

#ifdef HALLPASS_BENCH_RE2
// RE2::Set with the same patterns over the same texts, each scanned whole (RE2 has no
// streaming), next to BM_HyperscanSet's block mode: arg 0 the raw set, arg 1 the normalized
// set. Latin-1, so RE2 reads bytes as Hyperscan does; a caseless pattern gets "(?i)". The DFA
// budget is raised so RE2 does not give up on the set ("DFA out of memory" counts an error).
void BM_RE2Set(benchmark::State& state) {
  bool normalize = state.range(0) == 1;
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_max_mem(std::int64_t{1} << 30);
  options.set_log_errors(false);
  RE2::Set set(options, RE2::UNANCHORED);
  for (const auto& source : sources(normalize)) {
    std::string error;
    if (set.Add((source.caseless ? "(?i)" : "") + source.expression, &error) < 0) {
      state.SkipWithError(("RE2 rejects " + source.where + ": " + error).c_str());
      return;
    }
  }
  if (!set.Compile()) {
    state.SkipWithError("RE2::Set::Compile failed");
    return;
  }
  const auto& texts = normalize ? normalized() : decoded();
  std::size_t matches = 0;
  std::size_t errors = 0;
  std::vector<int> found;
  for (auto _ : state) {
    matches = 0;
    errors = 0;
    for (const auto& text : texts) {
      RE2::Set::ErrorInfo error;
      if (!set.Match(text, &found, &error) && error.kind != RE2::Set::kNoError) {
        ++errors;
      }
      matches += found.size();
    }
  }
  state.SetLabel(normalize ? "normalized set" : "raw set");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes()));
  state.counters["matches"] = static_cast<double>(matches);
  state.counters["errors"] = static_cast<double>(errors);
}
BENCHMARK(BM_RE2Set)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3);
#endif

// std::regex (ECMAScript) has no inline flag groups: "(?i:st|ave)" becomes "(?:[sS][tT]|...)".
std::string ecmascript(const std::string& regex) {
  std::string out;
  int caseless_depth = 0;  // > 0 inside a (?i:...) group, counting its parentheses
  for (std::size_t i = 0; i < regex.size(); ++i) {
    char c = regex[i];
    if (c == '\\' && i + 1 < regex.size()) {
      out += regex.substr(i++, 2);
    } else if (regex.compare(i, 4, "(?i:") == 0) {
      out += "(?:";
      i += 3;
      caseless_depth = 1;
    } else if (caseless_depth > 0 && std::isalpha(static_cast<unsigned char>(c)) != 0) {
      out += std::string("[") + static_cast<char>(std::tolower(c)) +
             static_cast<char>(std::toupper(c)) + "]";
    } else {
      caseless_depth += caseless_depth > 0 && c == '(' ? 1 : 0;
      caseless_depth -= caseless_depth > 0 && c == ')' ? 1 : 0;
      out += c;
    }
  }
  return out;
}

// The same patterns with std::regex, one regex_search per pattern per body, over the first
// 256 KiB of bodies only: it is three orders of magnitude slower. "flagged" counts bodies
// with a match, to set beside BM_ScanBodies's count on the same sample.
void BM_StdRegex(benchmark::State& state) {
  struct Compiled {
    std::regex regex;
    bool normalize;
  };
  std::vector<Compiled> regexes;
  for (const auto& spec : default_config().policy.content_patterns) {
    auto flags = std::regex::ECMAScript | std::regex::optimize;
    regexes.push_back(
        {std::regex(ecmascript(spec.regex), spec.caseless ? flags | std::regex::icase : flags),
         spec.normalize});
  }
  std::size_t sample = 0;
  std::size_t count = 0;
  while (count < decoded().size() && sample < (256u << 10)) {
    sample += bodies()[count++].bytes.size();
  }
  std::size_t flagged = 0;
  for (auto _ : state) {
    flagged = 0;
    for (std::size_t i = 0; i < count; ++i) {
      bool any = false;
      for (const auto& compiled : regexes) {
        const auto& text = compiled.normalize ? normalized()[i] : decoded()[i];
        any = std::regex_search(text, compiled.regex) || any;
      }
      flagged += any ? 1 : 0;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * sample));
  state.counters["bodies"] = static_cast<double>(count);
  state.counters["flagged"] = static_cast<double>(flagged);
}
BENCHMARK(BM_StdRegex)->Unit(benchmark::kMillisecond)->MinTime(3);

// Hyperscan through the scanner on the same sample as BM_StdRegex, for its "flagged".
void BM_ScanSample(benchmark::State& state) {
  auto p = policy();
  std::size_t sample = 0;
  std::size_t count = 0;
  while (count < decoded().size() && sample < (256u << 10)) {
    sample += bodies()[count++].bytes.size();
  }
  std::size_t flagged = 0;
  for (auto _ : state) {
    flagged = 0;
    for (std::size_t i = 0; i < count; ++i) {
      filters::ContentScanner::Scan scan(p->content_scanner());
      scan.feed(decoded()[i]);
      scan.finish();
      flagged += scan.matched().empty() ? 0 : 1;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * sample));
  state.counters["bodies"] = static_cast<double>(count);
  state.counters["flagged"] = static_cast<double>(flagged);
}
BENCHMARK(BM_ScanSample)->Unit(benchmark::kMillisecond)->MinTime(1);

}  // namespace

BENCHMARK_MAIN();
