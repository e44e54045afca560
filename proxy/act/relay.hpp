// Streams one message body from a parser to a serializer through a fixed buffer, the
// shape of Beast's `relay()` example: no body is ever held whole.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "proxy/http/beast.hpp"

namespace hallpass::act {

enum class RelayStatus { done, read_failed, read_timed_out, write_failed };

struct Deadlines {
  std::chrono::steady_clock::duration read;
  std::chrono::steady_clock::duration write;
};

// Beast reads max(512, free capacity) bytes at a time: without room in the read buffer a
// 1 MiB body takes two thousand reads. Body reads get at least this much room.
inline constexpr std::size_t kReadRoom = 16 * 1024;

// Reads the next body piece into `buffer`; returns its size (0 only at the end), or an error.
//
// A request body piece fills the buffer (or ends the body) within one deadline: bodies come
// from clients, and a client dripping a byte at a time must not re-arm the deadline with
// each byte. A response piece is whatever the next read brings: responses come from the
// server the client chose, and server-sent events or a long poll trickle a few bytes that
// must reach the browser now, not after 64 KiB.
template <bool isRequest, typename In, typename InBuffer>
awaitable<std::pair<error_code, std::size_t>> read_body_piece(
    In& in, InBuffer& in_buffer, bhttp::parser<isRequest, bhttp::buffer_body>& parser,
    std::span<char> buffer, std::chrono::steady_clock::duration deadline) {
  auto& body = parser.get().body();
  body.data = buffer.data();
  body.size = buffer.size();
  if constexpr (std::is_same_v<InBuffer, beast::flat_buffer>) {
    if (in_buffer.capacity() - in_buffer.size() < kReadRoom) {
      // Never past max_size, which would throw: a full buffer makes the read fail instead.
      in_buffer.reserve(std::min(in_buffer.size() + kReadRoom, in_buffer.max_size()));
    }
  }
  beast::get_lowest_layer(in).expires_after(deadline);
  if constexpr (isRequest) {
    auto [ec, n] = co_await bhttp::async_read(in, in_buffer, parser, use_tuple);
    if (ec == bhttp::error::need_buffer) {
      ec = {};
    }
    co_return std::pair{ec, buffer.size() - body.size};
  } else {
    // One read_some may parse only a chunk-size line; go on until a body byte or the end.
    for (;;) {
      auto [ec, n] = co_await bhttp::async_read_some(in, in_buffer, parser, use_tuple);
      if (ec == bhttp::error::need_buffer) {
        ec = {};
      }
      auto filled = buffer.size() - body.size;
      if (ec || filled > 0 || parser.is_done()) {
        co_return std::pair{ec, filled};
      }
    }
  }
}

// Sees each request body piece on its way (the content scanner); the default sees nothing.
struct IgnorePieces {
  void operator()(std::string_view) const {}
};

// Relays the rest of the body. `first`, when set, is a piece already read (from `buffer`,
// or a body held for scanning) that goes out before anything else is read.
template <bool isRequest, typename In, typename InBuffer, typename Out, typename Fields,
          typename OnPiece = IgnorePieces>
awaitable<RelayStatus> relay_body(In& in, InBuffer& in_buffer,
                                  bhttp::parser<isRequest, bhttp::buffer_body>& parser, Out& out,
                                  bhttp::serializer<isRequest, bhttp::buffer_body, Fields>& sr,
                                  std::span<char> buffer, std::optional<std::span<char>> first,
                                  Deadlines deadlines, std::uint64_t& bytes,
                                  OnPiece on_piece = {}) {
  while (!sr.is_done()) {
    std::span<char> piece;
    if (first) {
      piece = *first;
      first.reset();
    } else if (!parser.is_done()) {
      auto [ec, n] = co_await read_body_piece(in, in_buffer, parser, buffer, deadlines.read);
      if (ec) {
        co_return ec == beast::error::timeout ? RelayStatus::read_timed_out
                                              : RelayStatus::read_failed;
      }
      piece = buffer.first(n);
      on_piece(std::string_view(piece.data(), piece.size()));
    }
    auto& body = parser.get().body();
    body.data = piece.empty() ? nullptr : piece.data();
    body.size = piece.size();
    body.more = !parser.is_done();
    beast::get_lowest_layer(out).expires_after(deadlines.write);
    auto [ec, n] = co_await bhttp::async_write(out, sr, use_tuple);
    if (ec == bhttp::error::need_buffer) {
      ec = {};
    }
    if (ec) {
      co_return RelayStatus::write_failed;
    }
    bytes += piece.size();
  }
  co_return RelayStatus::done;
}

}  // namespace hallpass::act
