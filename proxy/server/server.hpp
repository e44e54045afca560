// The daemon: one io_context thread per core (each with its own listening socket, upstream
// pool and policy pointer), a control thread for signals and the admin endpoint.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "filters/policy.hpp"
#include "proxy/config/config.hpp"

namespace hallpass::server {

class Server {
 public:
  // `config_read_started`: FileWatch::file_clock_now_ns() from before `config` was loaded,
  // so a file edited while it was read is reloaded at the first look.
  Server(std::string config_path, config::Config config,
         std::shared_ptr<const filters::Policy> policy, long long config_read_started);
  ~Server();
  // Serves until SIGTERM or SIGINT, then drains. Throws on a startup failure (a listen
  // address in use, an audit log that cannot be opened).
  int run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hallpass::server
