#include "proxy/tls/peek.hpp"

namespace hallpass::tls {

awaitable<FirstBytes> read_first_bytes(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                       std::chrono::steady_clock::duration wait) {
  // One deadline for the whole peek: a ClientHello dripped a byte at a time must still
  // arrive within it.
  stream.expires_after(wait);
  for (;;) {
    auto bytes = buffer.data();
    auto peek =
        peek_client_hello(std::span(static_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    switch (peek.status) {
      case PeekStatus::client_hello:
        co_return FirstBytes{FirstBytes::hello, std::move(peek.hello), {}};
      case PeekStatus::not_tls:
      case PeekStatus::malformed:
        co_return FirstBytes{FirstBytes::not_tls, {}, peek.detail};
      case PeekStatus::need_more:
        break;
    }
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
    if (ec == beast::error::timeout) {
      if (buffer.size() == 0) {
        co_return FirstBytes{FirstBytes::silent, {}, "no bytes before the deadline"};
      }
      co_return FirstBytes{FirstBytes::not_tls, {}, "an incomplete ClientHello"};
    }
    if (ec) {
      co_return FirstBytes{FirstBytes::closed, {}, {}};
    }
    buffer.commit(n);
  }
}

}  // namespace hallpass::tls
