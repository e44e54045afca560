// A WebSocket connection after its 101: the server's frames are copied to the client as they
// come; the client's frames are read by ClientFrames and each text message is judged before
// it goes on. A blocked message, or a client that breaks the protocol, ends the connection
// with a close frame to both sides (1008 "policy violation" for a block): the server never
// receives the message. Both streams are templates: plain TCP, or TLS inside an intercepted
// tunnel.
#pragma once

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <cstdint>
#include <span>

#include "proxy/act/websocket_inspection.hpp"
#include "proxy/http/beast.hpp"
#include "proxy/websocket/close_frame.hpp"
#include "proxy/websocket/extensions.hpp"

namespace hallpass::act {

struct WebSocketResult {
  std::uint64_t bytes_from_client = 0;
  std::uint64_t bytes_to_client = 0;
  std::uint64_t messages = 0;    // text messages the client sent
  std::uint16_t close_code = 0;  // what the proxy closed with, when it closed the connection
  std::string_view error;        // the client's protocol error, when it made one
};

namespace detail {

template <typename In, typename Out>
awaitable<void> copy_server_frames(In& upstream, beast::flat_static_buffer_base& leftover,
                                   Out& client, std::span<char> buffer,
                                   std::chrono::steady_clock::duration idle, std::uint64_t& bytes) {
  if (leftover.size() > 0) {  // frames that arrived with the 101
    beast::get_lowest_layer(client).expires_after(idle);
    auto [ec, n] = co_await asio::async_write(client, leftover.data(), use_tuple);
    if (ec) {
      co_return;
    }
    leftover.consume(n);
    bytes += n;
  }
  for (;;) {
    beast::get_lowest_layer(upstream).expires_after(idle);
    auto [read_ec, n] = co_await upstream.async_read_some(asio::buffer(buffer), use_tuple);
    if (read_ec) {
      co_return;
    }
    beast::get_lowest_layer(client).expires_after(idle);
    auto [write_ec, written] =
        co_await asio::async_write(client, asio::buffer(buffer.data(), n), use_tuple);
    if (write_ec) {
      co_return;
    }
    bytes += written;
  }
}

template <typename In, typename Out>
awaitable<void> judge_client_frames(In& client, beast::flat_buffer& early, Out& upstream,
                                    websocket::ClientFrames& frames, MessageInspection& inspection,
                                    std::span<char> buffer,
                                    std::chrono::steady_clock::duration idle,
                                    std::uint64_t& bytes) {
  for (;;) {
    std::string_view piece;
    std::size_t early_bytes = early.size();
    if (early_bytes > 0) {  // frames the client sent right behind its upgrade request
      piece = std::string_view(static_cast<const char*>(early.data().data()), early_bytes);
    } else {
      beast::get_lowest_layer(client).expires_after(idle);
      auto [ec, n] = co_await client.async_read_some(asio::buffer(buffer), use_tuple);
      if (ec) {
        co_return;
      }
      piece = std::string_view(buffer.data(), n);
    }
    bytes += piece.size();
    auto state = frames.feed(piece, inspection);
    early.consume(early_bytes);
    auto& out = inspection.out();
    if (!out.empty()) {
      beast::get_lowest_layer(upstream).expires_after(idle);
      auto [ec, n] = co_await asio::async_write(upstream, asio::buffer(out), use_tuple);
      out.clear();
      if (ec) {
        co_return;
      }
    }
    if (state != websocket::ClientFrames::State::open) {
      co_return;
    }
  }
}

}  // namespace detail

// `early`: client bytes read past the upgrade request; `leftover`: server bytes read past
// the 101. `buffer` is split between the two directions.
template <typename ClientStream, typename UpstreamStream>
awaitable<WebSocketResult> relay_websocket(ClientStream& client, beast::flat_buffer& early,
                                           UpstreamStream& upstream,
                                           beast::flat_static_buffer_base& leftover,
                                           const websocket::Negotiated& negotiated,
                                           MessageInspection& inspection, std::size_t hold_bytes,
                                           std::span<char> buffer,
                                           std::chrono::steady_clock::duration idle) {
  using namespace asio::experimental::awaitable_operators;
  WebSocketResult result;
  websocket::ClientFrames frames({negotiated.deflate, negotiated.client_no_context_takeover,
                                  hold_bytes, websocket::ClientFrames::Options{}.max_inflated});
  auto half = buffer.size() / 2;
  co_await (detail::judge_client_frames(client, early, upstream, frames, inspection,
                                        buffer.first(half), idle, result.bytes_from_client) ||
            detail::copy_server_frames(upstream, leftover, client, buffer.subspan(half), idle,
                                       result.bytes_to_client));
  result.messages = inspection.messages();
  if (inspection.blocked() || frames.state() == websocket::ClientFrames::State::failed) {
    // The server-to-client copy was cancelled above, so these writes do not interleave.
    result.close_code =
        inspection.blocked() ? websocket::close_status::policy_violation : frames.close_code();
    result.error = frames.error();
    auto reason =
        inspection.blocked() ? std::string_view("blocked by school policy") : frames.error();
    auto to_client = websocket::close_frame_to_client(result.close_code, reason);
    auto to_server = websocket::close_frame_to_server(result.close_code, reason);
    beast::get_lowest_layer(client).expires_after(std::chrono::seconds(5));
    beast::get_lowest_layer(upstream).expires_after(std::chrono::seconds(5));
    co_await (asio::async_write(client, asio::buffer(to_client), use_tuple) &&
              asio::async_write(upstream, asio::buffer(to_server), use_tuple));
  }
  co_return result;
}

}  // namespace hallpass::act
