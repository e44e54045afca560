// What one worker thread lends to the sessions it runs. Everything here is touched only
// from that worker's io_context thread, so none of it needs a lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_set>

#include "filters/policy.hpp"
#include "proxy/act/held_budget.hpp"
#include "proxy/act/upstream.hpp"
#include "proxy/config/config.hpp"
#include "proxy/http/beast.hpp"
#include "proxy/record/recorder.hpp"
#include "proxy/session/buffer_pool.hpp"
#include "proxy/tls/services.hpp"

namespace hallpass::session {

struct SessionContext {
  SessionContext(const config::Config& config, record::Recorder& recorder, tls::Services& tls,
                 unsigned worker, std::uint32_t id_prefix)
      : config(config),
        recorder(recorder),
        tls(tls),
        pool(config.upstream),
        worker(worker),
        id_prefix(id_prefix) {}

  const config::Config& config;
  record::Recorder& recorder;
  tls::Services& tls;  // shared by every worker
  act::UpstreamPool pool;
  BufferPool buffers;
  // Replaced by a reload (posted to this worker); each connection pins its own copy.
  std::shared_ptr<const filters::Policy> policy;
  act::HeldBudget* held_budget = nullptr;  // the server's, shared by every worker
  bool draining = false;
  // Connections waiting for a request head: a drain closes them at once.
  std::unordered_set<beast::tcp_stream*> waiting;
  unsigned worker;
  std::uint32_t id_prefix;  // random per process, so ids stay unique across restarts
  std::uint64_t requests = 0;
  // Every address the proxy listens on: a redirected connection whose original destination
  // is one of them would loop.
  std::vector<tcp::endpoint> own_endpoints;
};

// Counts open connections across workers; a slot is held for a connection's lifetime.
class ConnectionSlot {
 public:
  ConnectionSlot(std::atomic<std::size_t>& open, record::Metrics& metrics)
      : open_(&open), metrics_(&metrics) {
    metrics_->connection_opened();
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept
      : open_(std::exchange(other.open_, nullptr)), metrics_(other.metrics_) {}
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (open_ != nullptr) {
      open_->fetch_sub(1, std::memory_order_relaxed);
      metrics_->connection_closed();
    }
  }

 private:
  std::atomic<std::size_t>* open_;
  record::Metrics* metrics_;
};

awaitable<void> serve_connection(tcp::socket socket, SessionContext& context, ConnectionSlot slot);
// A connection the gateway redirected to the transparent listener (see session_transparent.cpp).
awaitable<void> serve_transparent(tcp::socket socket, SessionContext& context, ConnectionSlot slot);

}  // namespace hallpass::session
