#include "proxy/session/tear_down.hpp"

#include <algorithm>
#include <array>
#include <chrono>

namespace hallpass::session {

namespace {

constexpr std::chrono::seconds kQuiet{1};
constexpr std::chrono::seconds kLongest{5};

}  // namespace

awaitable<void> tear_down(beast::tcp_stream& stream) {
  // A connection set to close with a reset (SO_LINGER 0: a response the server cut after
  // its head went out) must not be closed cleanly: the FIN would pass the cut body off as
  // whole.
  asio::socket_base::linger linger;
  error_code ec;
  stream.socket().get_option(linger, ec);
  if (ec || (linger.enabled() && linger.timeout() == 0)) {
    co_return;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    co_return;
  }
  std::array<char, 16384> dropped;
  auto until = std::chrono::steady_clock::now() + kLongest;
  for (auto now = std::chrono::steady_clock::now(); now < until;
       now = std::chrono::steady_clock::now()) {
    stream.expires_after(std::min<std::chrono::steady_clock::duration>(kQuiet, until - now));
    auto [read_error, n] = co_await stream.async_read_some(asio::buffer(dropped), use_tuple);
    if (read_error) {
      co_return;
    }
  }
}

}  // namespace hallpass::session
