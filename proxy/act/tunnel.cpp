#include "proxy/act/tunnel.hpp"

#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace hallpass::act {

namespace {

using Clock = std::chrono::steady_clock;

void close_both(beast::tcp_stream& a, beast::tcp_stream& b) {
  error_code ignored;
  a.socket().close(ignored);
  b.socket().close(ignored);
}

// One direction. At EOF the write side is shut down so the peer sees the half-close
// (TLS close_notify and HTTP/1.0 bodies rely on it); any error ends both directions.
awaitable<void> transfer(beast::tcp_stream& from, beast::tcp_stream& to, std::uint64_t& bytes,
                         Clock::time_point& last_activity) {
  std::array<char, 32768> buffer;
  // The raw sockets: the watchdog owns the deadline, so the streams' timers stay out of it.
  auto& in = from.socket();
  auto& out = to.socket();
  for (;;) {
    auto [read_ec, n] = co_await in.async_read_some(asio::buffer(buffer), use_tuple);
    if (read_ec) {
      if (read_ec == asio::error::eof) {
        error_code ignored;
        to.socket().shutdown(tcp::socket::shutdown_send, ignored);
      } else {
        close_both(from, to);
      }
      co_return;
    }
    last_activity = Clock::now();
    auto [write_ec, written] =
        co_await asio::async_write(out, asio::buffer(buffer.data(), n), use_tuple);
    if (write_ec) {
      close_both(from, to);
      co_return;
    }
    last_activity = Clock::now();
    bytes += written;
  }
}

// A tunnel is idle only when neither direction moves: a long download with a silent
// client must not be cut, so one watchdog looks at the shared activity time.
awaitable<void> watchdog(beast::tcp_stream& client, beast::tcp_stream& upstream,
                         const Clock::time_point& last_activity, Clock::duration idle) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_at(last_activity + idle);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) {
      co_return;  // cancelled: the tunnel ended
    }
    if (Clock::now() - last_activity >= idle) {
      close_both(client, upstream);
      co_return;
    }
  }
}

}  // namespace

awaitable<TunnelBytes> splice(beast::tcp_stream& client, beast::flat_buffer& early,
                              beast::tcp_stream& upstream, Clock::duration idle) {
  using namespace asio::experimental::awaitable_operators;
  TunnelBytes bytes;
  client.expires_never();
  upstream.expires_never();
  if (early.size() > 0) {
    auto [ec, n] = co_await asio::async_write(upstream, early.data(), use_tuple);
    if (ec) {
      co_return bytes;
    }
    early.consume(n);
    bytes.from_client += n;
  }
  auto last_activity = Clock::now();
  co_await ((transfer(client, upstream, bytes.from_client, last_activity) &&
             transfer(upstream, client, bytes.to_client, last_activity)) ||
            watchdog(client, upstream, last_activity, idle));
  co_return bytes;
}

}  // namespace hallpass::act
