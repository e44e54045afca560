// The content scan is the chain a request body really goes through: Content-Encoding
// inflated, Content-Type decoded, text normalized, then the shipped pattern sets in
// Hyperscan (block mode for a text up to 16 KiB, stream mode past it), judged by the
// embedded default policy. Its verdict (block, alert, the category and score in the audit
// line) must not depend on how TCP cut the body, or a student could slip a flagged phrase
// through by sending it in two segments. Nor may the patterns a text matches depend on
// which of the two modes scanned it.
//
// Input: byte 0 picks the Content-Type (low 3 bits) and the Content-Encoding (next 2 bits;
// compressed here, so the fuzzer writes text); byte 1 where the body is cut in two; the rest
// is the body.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "filters/ip_address.hpp"
#include "proxy/act/content_inspection.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"
#include "tests/fuzz/deflate_text.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace hallpass;

constexpr std::string_view kContentTypes[] = {
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "text/plain; charset=utf-8",
    "",
    "application/vnd.api+json",
    "text/html",
    "image/png",
};
constexpr std::string_view kEncodings[] = {"", "gzip", "deflate", "br"};

struct Fixture {
  std::shared_ptr<const filters::Policy> policy;
  filters::Client client;
};

// Compiling the shipped pattern sets takes seconds under ASan: once per process.
const Fixture& fixture() {
  static const Fixture built = [] {
    auto policy = config::build_policy(config::load_config(std::string(config::kEmbeddedDefault)));
    auto client = policy->identify(*filters::IpAddress::parse("127.0.0.1"));
    return Fixture{policy, client};
  }();
  return built;
}

filters::ContentVerdict scan(std::string_view type, std::string_view coding, std::string_view first,
                             std::string_view second) {
  const auto& f = fixture();
  act::ContentInspection inspection(*f.policy, f.client, type, coding, 1 << 20);
  inspection.feed(first);
  if (!second.empty()) {
    inspection.feed(second);
  }
  return inspection.finish();
}

// The patterns `text` matches, cut in two at `cut`, sorted; `whole_text_bytes` as the scan
// takes it (0: streamed from the first byte).
std::vector<std::uint16_t> matched(std::string_view text, std::size_t cut,
                                   std::size_t whole_text_bytes) {
  filters::ContentScanner::Scan scan(fixture().policy->content_scanner(), whole_text_bytes);
  scan.feed(text.substr(0, cut));
  scan.feed(text.substr(cut));
  scan.finish();
  auto found = scan.matched();
  std::sort(found.begin(), found.end());
  return found;
}

// The weight of the pattern a verdict names (0 for none).
int weight_of(std::string_view id) {
  for (const auto& pattern : fixture().policy->content_scanner().patterns()) {
    if (pattern.id == id) {
      return pattern.weight;
    }
  }
  return 0;
}

// The verdict as the block decision and the audit line see it. Flags are sorted: the
// scanner lists them in the order first seen, which follows the pieces. Of the named
// pattern only its weight is compared: between patterns of equal weight the first seen
// wins, and Hyperscan may report two matches that end together in either order once the
// text is cut (a known, reported tie; the category, score and decision do not change).
auto key(const filters::ContentVerdict& v) {
  std::vector<std::tuple<std::string_view, std::string_view, filters::Severity>> flags;
  for (const auto& flag : v.flags) {
    flags.emplace_back(flag.category, flag.pattern, flag.severity);
  }
  std::sort(flags.begin(), flags.end());
  return std::tuple(v.flag, v.block, v.alert, v.category, weight_of(v.pattern), v.score, v.unjudged,
                    flags);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  auto type = kContentTypes[data[0] & 7];
  auto coding = kEncodings[(data[0] >> 3) & 3];
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  std::string body(text);
  if (coding == "gzip") {
    body = fuzz::deflate_text(text, 16 + 15);
  } else if (coding == "deflate") {
    body = fuzz::deflate_text(text, 15);
  }
  auto whole = scan(type, coding, body, {});
  FUZZ_CHECK(whole.score >= 0 && whole.score <= filters::ContentScanner::kMaxScore);
  FUZZ_CHECK(!whole.block || whole.flag);
  FUZZ_CHECK(whole.unjudged.empty() == (coding != "br"));
  std::string_view all(body);
  auto cut = all.size() * data[1] / 256;
  FUZZ_CHECK(key(scan(type, coding, all.substr(0, cut), all.substr(cut))) == key(whole));
  auto text_cut = text.size() * data[1] / 256;
  FUZZ_CHECK(matched(text, text_cut, text.size()) == matched(text, text_cut, 0));
  return 0;
}
