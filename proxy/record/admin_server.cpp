#include "proxy/record/admin_server.hpp"

#include <memory>

namespace hallpass::record {

namespace {

bhttp::response<bhttp::string_body> route(const bhttp::request<bhttp::string_body>& request,
                                          AdminState& state) {
  bhttp::response<bhttp::string_body> response{bhttp::status::ok, request.version()};
  response.set(bhttp::field::server, "hallpass");
  response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  auto path = request.target().substr(0, request.target().find('?'));
  if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
    response.result(bhttp::status::method_not_allowed);
    response.body() = "GET only\n";
  } else if (path == "/metrics") {
    response.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.body() = state.metrics.serialize();
  } else if (path == "/healthz") {
    response.body() = "ok\n";
  } else if (path == "/readyz") {
    bool ready = state.ready.load();
    response.result(ready ? bhttp::status::ok : bhttp::status::service_unavailable);
    response.body() = ready ? "ready\n" : "not ready\n";
  } else {
    response.result(bhttp::status::not_found);
    response.body() = "not found: try /metrics, /healthz or /readyz\n";
  }
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

// Scrapers and health checks need a handful of connections. Past this many, a new one is
// closed at once, so a local flood cannot take the descriptors the proxy's clients need.
constexpr std::size_t kMaxAdminConnections = 64;

// One open admin connection, counted from its accept (not from when its coroutine first
// runs, so a burst of accepts cannot pass the cap). The control thread alone runs the admin
// endpoint, so a plain count is enough.
class AdminSlot {
 public:
  explicit AdminSlot(std::shared_ptr<std::size_t> open) : open_(std::move(open)) { ++*open_; }
  AdminSlot(AdminSlot&&) noexcept = default;  // the moved-from slot counts nothing
  AdminSlot& operator=(AdminSlot&&) = delete;
  ~AdminSlot() {
    if (open_) {
      --*open_;
    }
  }

 private:
  std::shared_ptr<std::size_t> open_;
};

awaitable<void> serve_admin(tcp::socket socket, AdminState state, [[maybe_unused]] AdminSlot slot) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(4096);
    stream.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    if (ec) {
      co_return;
    }
    auto response = route(parser.get(), state);
    stream.expires_after(std::chrono::seconds(30));
    auto [write_ec, written] = co_await bhttp::async_write(stream, response, use_tuple);
    if (write_ec || !response.keep_alive()) {
      co_return;
    }
  }
}

}  // namespace

awaitable<void> admin_accept_loop(tcp::acceptor& acceptor, AdminState state) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer backoff(executor);
  auto open = std::make_shared<std::size_t>(0);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (*open >= kMaxAdminConnections) {
      continue;  // the socket closes as it goes out of scope
    }
    asio::co_spawn(executor, serve_admin(std::move(socket), state, AdminSlot(open)),
                   asio::detached);
  }
}

}  // namespace hallpass::record
