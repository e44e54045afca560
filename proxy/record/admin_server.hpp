// The admin endpoint: /metrics (Prometheus text), /healthz (the process serves),
// /readyz (serving and not draining). Loopback unless the config says otherwise.
#pragma once

#include <atomic>
#include <functional>

#include "proxy/http/beast.hpp"
#include "proxy/record/metrics.hpp"

namespace hallpass::record {

struct AdminState {
  Metrics& metrics;
  std::atomic<bool>& ready;
};

awaitable<void> admin_accept_loop(tcp::acceptor& acceptor, AdminState state);

}  // namespace hallpass::record
