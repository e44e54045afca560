// The request target decides which host the policy judges and which path its rules see;
// the upstream then gets the same request rebuilt from the parsed parts. So a target
// must survive that rebuild unchanged, and every spelling of a path ("//x", "/a/../x",
// "/%78") must normalize to one form that rules can be written against. The input is one
// request target as a client writes it.
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/url/parse.hpp>

#include "filters/hex_digit.hpp"
#include "filters/url_path.hpp"
#include "proxy/http/target.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/target_checks.hpp"

namespace {

using namespace hallpass;

bool is_unreserved(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// A "%XX" the normalizer would decode; only these let a second pass change the text.
bool has_decodable_escape(std::string_view text) {
  for (std::size_t i = 0; i + 2 < text.size(); ++i) {
    int high = filters::hex_value(text[i + 1]);
    int low = filters::hex_value(text[i + 2]);
    if (text[i] == '%' && high >= 0 && low >= 0 && is_unreserved(high * 16 + low)) {
      return true;
    }
  }
  return false;
}

void check_path(std::string_view text) {
  auto normal = filters::normalize_path(text);
  std::string reused = "stale";
  filters::normalize_path(text, reused);
  FUZZ_CHECK(reused == normal);
  FUZZ_CHECK(normal.starts_with('/'));
  FUZZ_CHECK(normal.size() <= text.size() + 1);  // decoding and removing only shrink it
  auto path = std::string_view(normal).substr(0, normal.find('?'));
  FUZZ_CHECK(path.find("//") == std::string_view::npos);
  FUZZ_CHECK(path.find("/./") == std::string_view::npos && !path.ends_with("/."));
  FUZZ_CHECK(path.find("/../") == std::string_view::npos && !path.ends_with("/.."));
  // A literal '%' can pair with decoded hex digits into a new escape ("%%34%31" → "%41"):
  // the path was decoded once, as the server decodes it; only then may a pass change it.
  if (!has_decodable_escape(normal)) {
    FUZZ_CHECK(filters::normalize_path(normal) == normal);
  }
}

void check_target(std::string_view text) {
  auto parsed = http::parse_absolute_target(text);
  if (!parsed.target) {
    FUZZ_CHECK(parsed.refusal.status == 400 && !parsed.refusal.reason_code.empty());
    return;
  }
  const auto& target = *parsed.target;
  fuzz::check_target(target, false);
  // The port connected to is the port written (Boost.URL 1.81 wraps numbers past 65535).
  auto written = boost::urls::parse_absolute_uri(text)->port();
  if (!written.empty()) {
    FUZZ_CHECK(written.size() <= 5 && std::stoul(std::string(written)) == target.port);
  }
  // forward() sends target.path with Host: target.authority; read back, it is the same.
  auto again = http::parse_absolute_target("http://" + target.authority + target.path);
  FUZZ_CHECK(again.target.has_value());
  FUZZ_CHECK(again.target->host == target.host && again.target->port == target.port &&
             again.target->path == target.path && again.target->authority == target.authority);
  check_path(target.path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_path(text);
  check_target(text);
  return 0;
}
