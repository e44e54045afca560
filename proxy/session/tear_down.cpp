#include "proxy/session/tear_down.hpp"

#include <array>
#include <chrono>

namespace hallpass::session {

namespace {

constexpr std::chrono::seconds kQuiet{1};
constexpr std::chrono::seconds kLongest{5};

}  // namespace

awaitable<void> tear_down(beast::tcp_stream& stream) {
  error_code ec;
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
