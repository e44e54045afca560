// A strict look at the raw request head before Beast parses it. Beast 1.81 silently
// unfolds obs-fold and treats a Transfer-Encoding that does not end in `chunked` as "no
// body"; a proxy that forwards such a request lets two parsers disagree about where it
// ends (request smuggling). So anything ambiguous is refused here (RFC 9112 §5-6).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace hallpass::http {

struct HeadLimits {
  std::size_t max_head_bytes = 65536;
  std::size_t max_header_count = 100;
  std::size_t max_line_bytes = 16384;
};

struct Refusal {
  unsigned status;               // 400, 414 or 431
  std::string_view reason_code;  // stable snake_case, e.g. "obs_fold"
  std::string_view message;      // plain words for the error page
};

// `head` is the request line and header lines up to and including the blank line.
std::optional<Refusal> prescan_head(std::string_view head, const HeadLimits& limits);

// The answer for a head that reached max_head_bytes without its blank line: the first fault
// among its complete lines, else 414/431 when the unfinished last line is itself too long,
// else 431 head_too_large.
Refusal refuse_unfinished_head(std::string_view data, const HeadLimits& limits);

}  // namespace hallpass::http
