#include <sys/socket.h>

#include "proxy/act/upstream.hpp"

namespace hallpass::act {

namespace {

// An idle keep-alive connection the server has closed reads as EOF; one with unexpected
// bytes waiting is out of step. Either would fail the next request, so neither is reused.
bool still_idle(tcp::socket& socket) {
  char byte;
  auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::optional<tcp::socket> UpstreamPool::take(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end()) {
    return std::nullopt;
  }
  auto now = std::chrono::steady_clock::now();
  auto& list = it->second;
  while (!list.empty()) {
    Idle idle = std::move(list.back());
    list.pop_back();
    if (now - idle.since < settings_.pool_idle && still_idle(idle.socket)) {
      return std::move(idle.socket);
    }
  }
  return std::nullopt;
}

void UpstreamPool::give(const std::string& key, beast::tcp_stream stream) {
  auto now = std::chrono::steady_clock::now();
  if (now - last_sweep_ > settings_.pool_idle) {
    sweep(now);
  }
  if (settings_.max_idle_per_host == 0) {
    return;
  }
  auto& list = idle_[key];
  if (list.size() >= settings_.max_idle_per_host) {
    list.erase(list.begin());  // the oldest is the likeliest to be closed by the server
  }
  list.push_back({stream.release_socket(), now});
}

// Closes connections idle for longer than pool_idle, so hosts never asked for again do
// not keep sockets open.
void UpstreamPool::sweep(std::chrono::steady_clock::time_point now) {
  last_sweep_ = now;
  for (auto it = idle_.begin(); it != idle_.end();) {
    std::erase_if(it->second,
                  [&](const Idle& idle) { return now - idle.since >= settings_.pool_idle; });
    it = it->second.empty() ? idle_.erase(it) : std::next(it);
  }
}

}  // namespace hallpass::act
