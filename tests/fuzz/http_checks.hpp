// Checks shared by the two HTTP targets: what an accepted head and a parsed target promise
// to the rest of the proxy.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/http/beast.hpp"
#include "proxy/http/read_head.hpp"
#include "proxy/http/target.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/target_checks.hpp"

namespace hallpass::fuzz {

// PieceStream has no clock: any deadline does, it never fires.
inline const http::HeadDeadlines kDeadlines{std::nullopt, std::chrono::seconds(15)};

// The framing headers of a head the prescan accepted (so every line is "name: value").
struct HeadFraming {
  bool chunked = false;
  std::optional<std::uint64_t> content_length;
};

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) {
      return false;
    }
  }
  return true;
}

inline HeadFraming framing_of(std::string_view head) {
  HeadFraming framing;
  head.remove_prefix(head.find("\r\n") + 2);  // the request line
  while (!head.empty()) {
    auto line = head.substr(0, head.find("\r\n"));
    head.remove_prefix(line.size() + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;  // the blank line
    }
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    if (iequals(name, "transfer-encoding")) {
      framing.chunked = true;
    } else if (iequals(name, "content-length")) {
      std::uint64_t length = 0;
      std::from_chars(value.data(), value.data() + value.size(), length);
      framing.content_length = length;
    }
  }
  return framing;
}

// Whatever the proxy forwards must be framed the way the prescan read the head: if Beast
// and the prescan disagree about where a body ends, a second request can hide inside it.
inline void check_framing(std::string_view head, RequestParser& parser) {
  auto framing = framing_of(head);
  FUZZ_CHECK(parser.is_header_done());
  FUZZ_CHECK(parser.chunked() == framing.chunked);
  if (framing.content_length) {
    FUZZ_CHECK(parser.content_length() && *parser.content_length() == *framing.content_length);
  }
  bool has_body = framing.chunked || framing.content_length.value_or(0) > 0;
  FUZZ_CHECK(parser.is_done() == !has_body);
  // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing, and the
  // connection must close after it whatever Connection says (forward() follows keep_alive()).
  if (framing.chunked && parser.get().version() < 11) {
    FUZZ_CHECK(!parser.keep_alive());
  }
}

// The target of an accepted head, parsed the way the session does it.
inline void check_request_target(RequestParser& parser) {
  const auto& request = parser.get();
  std::string_view text(request.target().data(), request.target().size());
  bool connect = request.method() == bhttp::verb::connect;
  auto parsed = connect ? http::parse_connect_target(text) : http::parse_absolute_target(text);
  if (parsed.target) {
    check_target(*parsed.target, connect);
  } else {
    FUZZ_CHECK(parsed.refusal.status == 400 && !parsed.refusal.reason_code.empty());
  }
}

}  // namespace hallpass::fuzz
