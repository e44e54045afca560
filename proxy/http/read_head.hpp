// Reads one request head with limits: bytes are gathered up to the blank line, checked by
// prescan_head, then handed to Beast's parser, which stops at the end of the head so the
// body can be streamed later.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "proxy/http/beast.hpp"
#include "proxy/http/prescan.hpp"

namespace hallpass::http {

struct HeadOutcome {
  enum Kind { ok, closed, refused } kind = ok;
  Refusal refusal{400, "bad_request", "The request could not be parsed."};
};

inline constexpr Refusal kHeadTimeout{408, "head_timeout", "The request head took too long."};
inline constexpr Refusal kUnparsable{400, "bad_request", "The request could not be parsed."};

// Returns where the head ends in `data` (past CRLFCRLF), or npos. `from` skips bytes
// already searched.
std::size_t find_head_end(std::string_view data, std::size_t from);

// Parses the complete head at the front of `buffer` into `parser` and consumes it.
HeadOutcome parse_head(beast::flat_buffer& buffer, std::size_t head_size, RequestParser& parser,
                       const HeadLimits& limits);

// How long a head may take. A kept-alive connection may sit quiet for `idle` before its
// next request; once the first byte of it arrives, the rest gets `head`, so a client cannot
// drip a head for the length of the idle timeout. Without `idle` (a connection's first
// request), `head` counts from now.
struct HeadDeadlines {
  std::optional<std::chrono::steady_clock::duration> idle;
  std::chrono::steady_clock::duration head;
};

template <typename Stream>
awaitable<HeadOutcome> read_head(Stream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                                 const HeadLimits& limits, HeadDeadlines deadlines) {
  auto& timed = beast::get_lowest_layer(stream);
  bool waiting_for_first_byte = deadlines.idle && buffer.size() == 0;
  timed.expires_after(waiting_for_first_byte ? *deadlines.idle : deadlines.head);
  std::size_t searched = 0;
  for (;;) {
    std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
    if (auto end = find_head_end(data, searched); end != std::string_view::npos) {
      co_return parse_head(buffer, end, parser, limits);
    }
    if (buffer.size() >= limits.max_head_bytes) {
      co_return HeadOutcome{HeadOutcome::refused, refuse_unfinished_head(data, limits)};
    }
    searched = data.size() < 3 ? 0 : data.size() - 3;
    auto space = std::min<std::size_t>(16384, limits.max_head_bytes - buffer.size());
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(space), use_tuple);
    if (ec) {
      if (ec == beast::error::timeout && buffer.size() > 0) {
        co_return HeadOutcome{HeadOutcome::refused, kHeadTimeout};
      }
      co_return HeadOutcome{HeadOutcome::closed};
    }
    buffer.commit(n);
    if (waiting_for_first_byte) {
      waiting_for_first_byte = false;
      timed.expires_after(deadlines.head);
    }
  }
}

}  // namespace hallpass::http
