#include "proxy/server/server.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "proxy/accept/listener.hpp"
#include "proxy/config/load.hpp"
#include "proxy/record/admin_server.hpp"
#include "proxy/record/recorder.hpp"
#include "proxy/server/file_watch.hpp"
#include "proxy/session/context.hpp"

namespace hallpass::server {

namespace {

struct Worker {
  Worker(const config::Config& config, record::Recorder& recorder, tls::Services& tls,
         unsigned index, std::uint32_t id_prefix)
      : context(config, recorder, tls, index, id_prefix) {}
  // Sessions still suspended at shutdown are destroyed with `io` and touch `context` as they
  // unwind, so `context` is declared first and outlives `io`; its pooled sockets, which
  // belong to `io`, are closed before either goes (Server::run).
  session::SessionContext context;
  asio::io_context io{1};
  std::vector<tcp::acceptor> acceptors;
  std::vector<tcp::acceptor> transparent_acceptors;
  std::thread thread;
};

std::string endpoint_text(const tcp::endpoint& endpoint) {
  std::ostringstream out;
  out << endpoint;
  return out.str();
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void report_policy(record::Metrics& metrics, const filters::Policy& policy) {
  std::vector<record::Metrics::ListSize> sizes;
  const auto& names = policy.categories();
  const auto& domains = policy.list_domains_by_category();
  for (std::size_t id = 0; id < domains.size(); ++id) {
    sizes.push_back({names[id], domains[id]});
  }
  metrics.policy_loaded(unix_now(), policy.counts().list_domains, sizes);
  std::vector<std::string> buildings;
  for (std::size_t i = 0; i < policy.counts().buildings; ++i) {
    buildings.emplace_back(policy.building_name(static_cast<std::uint16_t>(i)));
  }
  metrics.content_alert_series(buildings, policy.content_scanner().categories());
}

}  // namespace

struct Server::State {
  std::string config_path;
  config::Config config;
  long long config_read_started = 0;  // FileWatch::file_clock_now_ns() before the startup load
  std::shared_ptr<const filters::Policy> policy;
  record::Metrics metrics;
  std::unique_ptr<record::Recorder> recorder;
  tls::Services tls;
  std::atomic<std::size_t> open_connections{0};
  std::unique_ptr<act::HeldBudget> held_budget;
  std::atomic<bool> ready{false};
  asio::io_context control{1};
  tcp::acceptor admin{control};
  std::vector<std::unique_ptr<Worker>> workers;  // after what sessions refer to

  void listen();
  // Returns the config that was loaded, or nullopt when the reload failed.
  std::optional<config::Config> reload();
  awaitable<void> handle_signals();
  awaitable<void> flush_audit();
  awaitable<void> watch_files();
  awaitable<void> drain();
};

Server::Server(std::string config_path, config::Config config,
               std::shared_ptr<const filters::Policy> policy, long long config_read_started)
    : state_(std::make_unique<State>()) {
  state_->config_path = std::move(config_path);
  state_->config_read_started = config_read_started;
  state_->config = std::move(config);
  state_->policy = std::move(policy);
}

Server::~Server() = default;

void Server::State::listen() {
  held_budget = std::make_unique<act::HeldBudget>(config.limits.max_held_bytes);
  auto count = std::max(1u, std::thread::hardware_concurrency());
  std::uint32_t id_prefix = std::random_device{}();
  for (unsigned i = 0; i < count; ++i) {
    workers.push_back(std::make_unique<Worker>(config, *recorder, tls, i, id_prefix));
    workers.back()->context.policy = policy;
    workers.back()->context.held_budget = held_budget.get();
  }
  for (const auto& text : config.listen) {
    auto endpoint = accept::parse_listen_address(text);
    for (auto& worker : workers) {
      worker->acceptors.push_back(accept::open_acceptor(worker->io, endpoint));
      endpoint = worker->acceptors.back().local_endpoint();  // port 0 becomes the real one
    }
    spdlog::info("proxy listening on {}", endpoint_text(endpoint));
  }
  for (const auto& text : config.transparent_listen) {
    auto endpoint = accept::parse_listen_address(text);
    for (auto& worker : workers) {
      worker->transparent_acceptors.push_back(
          accept::open_acceptor(worker->io, endpoint, config.transparent_tproxy));
      endpoint = worker->transparent_acceptors.back().local_endpoint();
    }
    spdlog::info("transparent listener on {}{}", endpoint_text(endpoint),
                 config.transparent_tproxy ? " (TPROXY)" : "");
  }
  admin = accept::open_acceptor(control, accept::parse_listen_address(config.admin_listen));
  spdlog::info("admin listening on {}", endpoint_text(admin.local_endpoint()));
  std::vector<tcp::endpoint> own{admin.local_endpoint()};
  for (const auto* acceptors :
       {&workers.front()->acceptors, &workers.front()->transparent_acceptors}) {
    for (const auto& acceptor : *acceptors) {
      own.push_back(acceptor.local_endpoint());
    }
  }
  for (auto& worker : workers) {
    worker->context.own_endpoints = own;
  }
}

namespace {

// The district CA (when configured) and the upstream trust store: a bad file stops the
// start with a message naming it, as a bad config does.
void load_tls(const config::Config& config, tls::Services& services) {
  auto upstream = tls::make_upstream_context(config.upstream);
  if (auto* error = std::get_if<std::string>(&upstream)) {
    throw std::runtime_error(*error);
  }
  services.upstream = std::get<0>(std::move(upstream));
  if (config.tls_ca_cert.empty() && config.tls_ca_key.empty()) {
    spdlog::info("no district CA (tls.ca_cert): HTTPS is never decrypted");
    return;
  }
  if (config.tls_ca_cert.empty() || config.tls_ca_key.empty()) {
    throw std::runtime_error("tls.ca_cert and tls.ca_key must be set together");
  }
  auto authority = tls::CertAuthority::load(config.tls_ca_cert, config.tls_ca_key);
  if (auto* error = std::get_if<std::string>(&authority)) {
    throw std::runtime_error(*error);
  }
  auto& ca = std::get<0>(authority);
  spdlog::info("district CA {} loaded: inspected HTTPS is decrypted", ca->subject());
  services.leaves = std::make_shared<tls::LeafCache>(ca, config.tls_leaf_cache);
}

}  // namespace

int Server::run() {
  auto& s = *state_;
  load_tls(s.config, s.tls);
  std::unique_ptr<record::AuditLog> audit;
  if (!s.config.audit.path.empty()) {
    audit = std::make_unique<record::AuditLog>(s.config.audit, s.metrics.registry());
  }
  s.recorder = std::make_unique<record::Recorder>(s.metrics, std::move(audit));
  report_policy(s.metrics, *s.policy);
  s.listen();
  for (auto& worker : s.workers) {
    for (auto& acceptor : worker->acceptors) {
      asio::co_spawn(worker->io,
                     accept::accept_loop(acceptor, worker->context,
                                         {s.open_connections, s.config.limits.max_connections}),
                     asio::detached);
    }
    for (auto& acceptor : worker->transparent_acceptors) {
      asio::co_spawn(worker->io,
                     accept::accept_loop(acceptor, worker->context,
                                         {s.open_connections, s.config.limits.max_connections},
                                         accept::ListenerKind::transparent),
                     asio::detached);
    }
  }
  asio::co_spawn(s.control, record::admin_accept_loop(s.admin, {s.metrics, s.ready}),
                 asio::detached);
  asio::co_spawn(s.control, s.handle_signals(), asio::detached);
  asio::co_spawn(s.control, s.flush_audit(), asio::detached);
  if (s.config.watch_interval.count() > 0) {
    asio::co_spawn(s.control, s.watch_files(), asio::detached);
  }
  for (auto& worker : s.workers) {
    worker->thread = std::thread([&io = worker->io] { io.run(); });
  }
  s.ready = true;
  spdlog::info("hallpass ready: {} workers, config {}", s.workers.size(), s.config_path);
  s.control.run();
  for (auto& worker : s.workers) {
    worker->io.stop();
    worker->thread.join();
    worker->context.pool.clear();
  }
  s.recorder->flush();
  spdlog::info("hallpass stopped");
  return 0;
}

std::optional<config::Config> Server::State::reload() {
  try {
    auto fresh = config::load_config(config_path);
    auto fresh_policy = config::build_policy(fresh);
    for (auto& worker : workers) {
      asio::post(worker->io,
                 [&context = worker->context, fresh_policy] { context.policy = fresh_policy; });
    }
    policy = fresh_policy;
    metrics.reload(true);
    report_policy(metrics, *fresh_policy);
    // Listeners, limits and timeouts are fixed at start; only the policy part reloads.
    spdlog::info("policy reloaded from {}: {} list domains", config_path,
                 fresh_policy->counts().list_domains);
    return fresh;
  } catch (const std::exception& e) {
    metrics.reload(false);
    spdlog::error("reload failed, keeping the current policy: {}", e.what());
    return std::nullopt;
  }
}

// Hands buffered audit lines to the file regularly, so a reader sees them within a
// fraction of a second; the spdlog queue itself never drops a line.
awaitable<void> Server::State::flush_audit() {
  asio::steady_timer timer(control);
  for (;;) {
    timer.expires_after(record::kAuditFlushInterval);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) {
      co_return;
    }
    recorder->flush();
  }
}

// Reloads when a watched file changes. The watch is rebuilt from each fresh config, so a
// list added by an edit is watched from then on; a failed reload is not retried until the
// files change again.
awaitable<void> Server::State::watch_files() {
  asio::steady_timer timer(control);
  FileWatch watch(config, config_read_started);
  auto interval =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(config.watch_interval);
  for (;;) {
    timer.expires_after(interval);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec) {
      co_return;
    }
    if (watch.changed()) {
      spdlog::info("watched files changed: reloading");
      auto read_started = FileWatch::file_clock_now_ns();
      if (auto fresh = reload()) {
        watch = FileWatch(*fresh, watch, read_started);
      }
    }
  }
}

awaitable<void> Server::State::handle_signals() {
  asio::signal_set signals(control, SIGINT, SIGTERM, SIGHUP);
  for (;;) {
    auto [ec, number] = co_await signals.async_wait(use_tuple);
    if (ec) {
      co_return;
    }
    if (number == SIGHUP) {
      reload();
      continue;
    }
    spdlog::info("signal {}: draining", number);
    co_await drain();
    control.stop();
    co_return;
  }
}

// Stops accepting, lets requests in flight finish, closes idle connections, and gives up
// waiting after timeouts.shutdown.
awaitable<void> Server::State::drain() {
  ready = false;
  error_code ignored;
  admin.close(ignored);
  for (auto& worker : workers) {
    asio::post(worker->io, [&w = *worker] {
      error_code ignored_here;
      for (auto& acceptor : w.acceptors) {
        acceptor.close(ignored_here);
      }
      for (auto& acceptor : w.transparent_acceptors) {
        acceptor.close(ignored_here);
      }
      w.context.draining = true;
      for (auto* stream : w.context.waiting) {
        stream->cancel();
      }
      w.context.pool.clear();
    });
  }
  auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(config.timeouts.shutdown);
  asio::steady_timer timer(control);
  while (open_connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(use_tuple);
  }
  if (auto left = open_connections.load(); left > 0) {
    spdlog::warn("shutdown: {} connections still open after the drain deadline", left);
  }
}

}  // namespace hallpass::server
