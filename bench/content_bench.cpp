// Content scanning throughput, the design goal of DESIGN.md ("content scanning at memory
// speed"): 64 MiB of post bodies (JSON chat messages, forms, plain text; about 3 % carrying a
// risky snippet; content_bodies.hpp) decoded, normalized and scanned with the shipped pattern
// sets, one core, in two vocabularies: 48 school words, and real English from Debian's
// fortune files. Reports bytes per second of body through the whole path, and through its
// parts (decoder, normalizer, each Hyperscan database alone), the literal matcher's own
// ceiling, and RE2::Set and std::regex with the same patterns as points of comparison.
#include <benchmark/benchmark.h>
#ifdef HALLPASS_BENCH_RE2
#include <re2/re2.h>
#include <re2/set.h>
#endif

#include <cctype>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "bench/content_bodies.hpp"
#include "filters/body_decoder.hpp"
#include "filters/pattern_set.hpp"
#include "filters/text_normalizer.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"

namespace {

using namespace hallpass;

using bench::Body;
using bench::Vocabulary;

constexpr std::size_t kCorpusBytes = 64u << 20;

// Each vocabulary's bodies, made on first use; nothing when the fortunes are not installed.
const std::vector<Body>* bodies(Vocabulary vocabulary) {
  if (vocabulary == Vocabulary::school_words) {
    static const auto school = bench::make_bodies(kCorpusBytes, vocabulary);
    return &*school;
  }
  static const auto fortunes = bench::make_bodies(kCorpusBytes, vocabulary);
  return fortunes ? &*fortunes : nullptr;
}

// The bodies of the vocabulary the benchmark's argument number `arg` names, or nothing (and
// the benchmark skipped with the reason) when they cannot be made.
const std::vector<Body>* bodies_for(benchmark::State& state, std::size_t arg) {
  auto vocabulary =
      state.range(static_cast<int>(arg)) == 0 ? Vocabulary::school_words : Vocabulary::fortunes;
  const auto* made = bodies(vocabulary);
  if (made == nullptr) {
    state.SkipWithError(
        "no fortune cookies in /usr/share/games/fortunes: bash deploy/install-deps.sh --bench");
  }
  return made;
}

const char* vocabulary_label(benchmark::State& state, std::size_t arg) {
  return state.range(static_cast<int>(arg)) == 0 ? "school words" : "fortunes";
}

std::size_t total_bytes(const std::vector<Body>& bodies) {
  std::size_t n = 0;
  for (const auto& body : bodies) {
    n += body.bytes.size();
  }
  return n;
}

const config::Config& default_config() {
  static const auto loaded = config::load_config(std::string(config::kEmbeddedDefault));
  return loaded;
}

std::shared_ptr<const filters::Policy> policy() {
  static auto built = config::build_policy(default_config());
  return built;
}

// Each body decoded once, and its decoded text normalized: the inputs of the parts below.
struct Texts {
  std::vector<std::string> decoded;
  std::vector<std::string> normalized;
};

const Texts& texts(const std::vector<Body>& bodies) {
  static std::map<const std::vector<Body>*, Texts> made;
  auto [at, fresh] = made.try_emplace(&bodies);
  if (fresh) {
    for (const auto& body : bodies) {
      filters::BodyDecoder decoder(body.kind);
      std::string text;
      decoder.feed(body.bytes, text);
      decoder.finish(text);
      at->second.normalized.push_back(filters::TextNormalizer::normalize(text));
      at->second.decoded.push_back(std::move(text));
    }
  }
  return at->second;
}

// Decode, normalize and scan each body in 16 KiB pieces, as the proxy reads them: each body
// kept and scanned whole, in block mode, as the scanner does with texts up to
// kWholeTextBytes (first arg 1), or streamed from its first byte, as it does with longer
// ones (0). Second arg: the vocabulary (0 school words, 1 fortunes).
void BM_ScanBodies(benchmark::State& state) {
  const auto* corpus = bodies_for(state, 1);
  if (corpus == nullptr) {
    return;
  }
  auto p = policy();
  auto whole_text_bytes = state.range(0) == 1 ? filters::ContentScanner::kWholeTextBytes : 0;
  std::size_t flagged = 0;
  std::string text;
  for (auto _ : state) {
    flagged = 0;
    for (const auto& body : *corpus) {
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
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(*corpus)));
  state.counters["bodies"] = static_cast<double>(corpus->size());
  state.counters["flagged"] = static_cast<double>(flagged);
  state.SetLabel(std::string(whole_text_bytes > 0 ? "whole texts, block mode" : "streamed") + ", " +
                 vocabulary_label(state, 1));
}
BENCHMARK(BM_ScanBodies)->ArgsProduct({{1, 0}, {0, 1}})->Unit(benchmark::kMillisecond)->MinTime(3);

// The parts of BM_ScanBodies/1 alone, over the same bytes (arg: the vocabulary): the
// decoders, and the normalizer over decoded text (form bodies' '+' already spaces).
void BM_DecodeOnly(benchmark::State& state) {
  const auto* corpus = bodies_for(state, 0);
  if (corpus == nullptr) {
    return;
  }
  std::string text;
  for (auto _ : state) {
    for (const auto& body : *corpus) {
      filters::BodyDecoder decoder(body.kind);
      text.clear();
      decoder.feed(body.bytes, text);
      decoder.finish(text);
      benchmark::DoNotOptimize(text.data());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(*corpus)));
  state.SetLabel(vocabulary_label(state, 0));
}
BENCHMARK(BM_DecodeOnly)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3);

void BM_NormalizeDecoded(benchmark::State& state) {
  const auto* corpus = bodies_for(state, 0);
  if (corpus == nullptr) {
    return;
  }
  std::string out;
  for (auto _ : state) {
    for (const auto& text : texts(*corpus).decoded) {
      filters::TextNormalizer normalizer;
      out.clear();
      normalizer.feed(text, out);
      normalizer.finish(out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(*corpus)));
  state.SetLabel(vocabulary_label(state, 0));
}
BENCHMARK(BM_NormalizeDecoded)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3);

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
// scanner feeds a long body (second arg 0), or each body scanned whole in block mode (1);
// third arg the vocabulary.
void BM_HyperscanSet(benchmark::State& state) {
  const auto* corpus = bodies_for(state, 2);
  if (corpus == nullptr) {
    return;
  }
  bool normalize = state.range(0) == 1;
  bool block = state.range(1) == 1;
  filters::PatternSet set(sources(normalize), block ? filters::PatternSet::Mode::block
                                                    : filters::PatternSet::Mode::stream);
  const auto& scanned = normalize ? texts(*corpus).normalized : texts(*corpus).decoded;
  std::size_t matches = 0;
  for (auto _ : state) {
    matches = 0;
    for (const auto& text : scanned) {
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
                 (block ? ", block mode, " : ", stream mode, ") + vocabulary_label(state, 2));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(*corpus)));
  state.counters["matches"] = static_cast<double>(matches);
}
BENCHMARK(BM_HyperscanSet)
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3);

// What Hyperscan's literal matcher costs on this machine before any pattern matches: N
// random lowercase words of 6 to 10 letters (seeded; they practically never occur),
// caseless, one block-mode database, over the normalized fortunes. A set of N patterns
// cannot scan faster than its N literals alone; this is that ceiling, next to
// BM_HyperscanSet.
void BM_LiteralCeiling(benchmark::State& state) {
  const auto* corpus = bodies_for(state, 1);
  if (corpus == nullptr) {
    return;
  }
  std::mt19937_64 random(11);
  std::vector<filters::PatternSource> literals;
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    std::string word;
    for (auto letters = 6 + random() % 5; word.size() < letters;) {
      word += static_cast<char>('a' + random() % 26);
    }
    literals.push_back({word, true, "literal " + std::to_string(i)});
  }
  filters::PatternSet set(literals, filters::PatternSet::Mode::block);
  std::size_t matches = 0;
  for (auto _ : state) {
    matches = 0;
    for (const auto& text : texts(*corpus).normalized) {
      set.scan(text, [&](unsigned) { ++matches; });
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(*corpus)));
  state.counters["matches"] = static_cast<double>(matches);
}
BENCHMARK(BM_LiteralCeiling)
    ->ArgsProduct({{1, 8, 64, 128, 341, 1000}, {1}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3);

#ifdef HALLPASS_BENCH_RE2
// RE2::Set with the same patterns over the same texts, each scanned whole (RE2 has no
// streaming), next to BM_HyperscanSet's block mode: first arg 0 the raw set, 1 the
// normalized set; second arg the vocabulary. Latin-1, so RE2 reads bytes as Hyperscan does;
// a caseless pattern gets "(?i)". The DFA budget is raised so RE2 does not give up on the
// set ("DFA out of memory" counts an error).
void BM_RE2Set(benchmark::State& state) {
  const auto* corpus = bodies_for(state, 1);
  if (corpus == nullptr) {
    return;
  }
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
  const auto& scanned = normalize ? texts(*corpus).normalized : texts(*corpus).decoded;
  std::size_t matches = 0;
  std::size_t errors = 0;
  std::vector<int> found;
  for (auto _ : state) {
    matches = 0;
    errors = 0;
    for (const auto& text : scanned) {
      RE2::Set::ErrorInfo error;
      if (!set.Match(text, &found, &error) && error.kind != RE2::Set::kNoError) {
        ++errors;
      }
      matches += found.size();
    }
  }
  state.SetLabel(std::string(normalize ? "normalized set, " : "raw set, ") +
                 vocabulary_label(state, 1));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(*corpus)));
  state.counters["matches"] = static_cast<double>(matches);
  state.counters["errors"] = static_cast<double>(errors);
}
BENCHMARK(BM_RE2Set)->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMillisecond)->MinTime(3);
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
  const auto& corpus = *bodies(Vocabulary::school_words);
  const auto& sampled = texts(corpus);
  std::size_t sample = 0;
  std::size_t count = 0;
  while (count < corpus.size() && sample < (256u << 10)) {
    sample += corpus[count++].bytes.size();
  }
  std::size_t flagged = 0;
  for (auto _ : state) {
    flagged = 0;
    for (std::size_t i = 0; i < count; ++i) {
      bool any = false;
      for (const auto& compiled : regexes) {
        const auto& text = compiled.normalize ? sampled.normalized[i] : sampled.decoded[i];
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
  const auto& corpus = *bodies(Vocabulary::school_words);
  const auto& sampled = texts(corpus);
  std::size_t sample = 0;
  std::size_t count = 0;
  while (count < corpus.size() && sample < (256u << 10)) {
    sample += corpus[count++].bytes.size();
  }
  std::size_t flagged = 0;
  for (auto _ : state) {
    flagged = 0;
    for (std::size_t i = 0; i < count; ++i) {
      filters::ContentScanner::Scan scan(p->content_scanner());
      scan.feed(sampled.decoded[i]);
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
