#include "proxy/http/prescan.hpp"

#include <algorithm>

namespace hallpass::http {

namespace {

bool is_token_char(unsigned char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

constexpr Refusal kBareLf{400, "bare_lf", "A line ended without CR LF."};
constexpr Refusal kControl{400, "control_byte", "The request head contains a control byte."};
constexpr Refusal kObsFold{400, "obs_fold", "A header line was folded onto the next line."};
constexpr Refusal kBadName{400, "bad_header_name", "A header name is malformed."};
constexpr Refusal kLongUri{414, "uri_too_long", "The request line is too long."};
constexpr Refusal kLongLine{431, "header_too_long", "A header line is too long."};
constexpr Refusal kTooMany{431, "too_many_headers", "The request has too many headers."};
constexpr Refusal kHeadSize{431, "head_too_large", "The request head is too large."};
constexpr Refusal kBadLength{400, "bad_content_length", "Content-Length is not a number."};
constexpr Refusal kTwoLengths{400, "conflicting_content_length",
                              "The request has differing Content-Length headers."};
constexpr Refusal kBadCoding{400, "bad_transfer_encoding",
                             "Only Transfer-Encoding: chunked is accepted."};
constexpr Refusal kLengthAndCoding{400, "content_length_with_transfer_encoding",
                                   "The request has both Content-Length and Transfer-Encoding."};
constexpr Refusal kOldVersionCoding{400, "transfer_encoding_in_http10",
                                    "An HTTP/1.0 request cannot use Transfer-Encoding."};
constexpr Refusal kTwoHosts{400, "duplicate_host", "The request has more than one Host header."};

// Facts gathered across header lines that only mean something together.
struct Framing {
  std::string_view content_length;
  bool has_length = false;
  int coding_headers = 0;
  int host_headers = 0;
};

std::optional<Refusal> check_field(std::string_view line, Framing& framing) {
  if (line.front() == ' ' || line.front() == '\t') {
    return kObsFold;
  }
  auto colon = line.find(':');
  // No whitespace may sit between name and colon (RFC 9112 §5.1): token chars only.
  if (colon == std::string_view::npos || colon == 0 ||
      !std::all_of(line.begin(), line.begin() + colon,
                   [](char c) { return is_token_char(static_cast<unsigned char>(c)); })) {
    return kBadName;
  }
  auto name = line.substr(0, colon);
  auto value = trim_ows(line.substr(colon + 1));
  if (iequals(name, "content-length")) {
    if (value.empty() || value.size() > 18 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return kBadLength;
    }
    if (framing.has_length && framing.content_length != value) {
      return kTwoLengths;
    }
    framing.has_length = true;
    framing.content_length = value;
  } else if (iequals(name, "transfer-encoding")) {
    if (++framing.coding_headers > 1 || !iequals(value, "chunked")) {
      return kBadCoding;
    }
  } else if (iequals(name, "host")) {
    if (++framing.host_headers > 1) {
      return kTwoHosts;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Refusal> prescan_head(std::string_view head, const HeadLimits& limits) {
  if (head.size() > limits.max_head_bytes) {
    return kHeadSize;
  }
  Framing framing;
  std::size_t header_count = 0;
  bool request_line = true;
  bool http11 = false;
  while (!head.empty()) {
    auto lf = head.find('\n');
    if (lf == std::string_view::npos || lf == 0 || head[lf - 1] != '\r') {
      return kBareLf;
    }
    auto line = head.substr(0, lf - 1);
    head.remove_prefix(lf + 1);
    if (line.empty()) {
      break;  // the blank line that ends the head
    }
    for (unsigned char c : line) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return kControl;
      }
    }
    if (line.size() > limits.max_line_bytes) {
      return request_line ? kLongUri : kLongLine;
    }
    if (request_line) {
      request_line = false;
      http11 = line.ends_with(" HTTP/1.1");
      continue;
    }
    if (++header_count > limits.max_header_count) {
      return kTooMany;
    }
    if (auto refusal = check_field(line, framing)) {
      return refusal;
    }
  }
  if (framing.has_length && framing.coding_headers > 0) {
    return kLengthAndCoding;
  }
  // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing (a 1.0 hop in between
  // would read the body up to the close), and the connection must end with the message.
  // Refusing it is the one answer no reader can take differently.
  if (framing.coding_headers > 0 && !http11) {
    return kOldVersionCoding;
  }
  return std::nullopt;
}

Refusal refuse_unfinished_head(std::string_view data, const HeadLimits& limits) {
  auto last_crlf = data.rfind("\r\n");
  auto complete =
      last_crlf == std::string_view::npos ? std::string_view{} : data.substr(0, last_crlf + 2);
  auto unfinished = data.substr(complete.size());
  if (auto refusal = prescan_head(complete, limits)) {
    return *refusal;
  }
  if (unfinished.find('\n') != std::string_view::npos) {
    return kBareLf;
  }
  if (unfinished.size() > limits.max_line_bytes) {
    return complete.empty() ? kLongUri : kLongLine;
  }
  return kHeadSize;
}

}  // namespace hallpass::http
