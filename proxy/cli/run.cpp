#include <spdlog/spdlog.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "filters/load_error.hpp"
#include "proxy/cli/commands.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"
#include "proxy/server/file_watch.hpp"
#include "proxy/server/server.hpp"

namespace hallpass::cli {

std::string config_path(const Args& args) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--config") {
      return args[i + 1];
    }
  }
  return std::string(config::kEmbeddedDefault);
}

int run_command(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: hallpass run [--config FILE]\n"
                 "Serve as a forward proxy. Without --config, the embedded default\n"
                 "(proxy on 127.0.0.1:3128, admin on 127.0.0.1:9130).\n"
                 "Signals: SIGHUP reloads the policy and lists, SIGTERM drains and stops.\n";
    return 0;
  }
  // The process holds the district CA key in memory: no core dump may write it to disk,
  // and no other process of the same user may read it with ptrace or /proc/PID/mem.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    spdlog::warn("could not forbid core dumps: {}", std::strerror(errno));
  }
  auto path = config_path(args);
  try {
    auto read_started = server::FileWatch::file_clock_now_ns();
    auto config = config::load_config(path);
    auto policy = config::build_policy(config);
    auto counts = policy->counts();
    spdlog::info("loaded {}: {} categories, {} list domains, {} buildings, {} policies", path,
                 counts.categories, counts.list_domains, counts.buildings, counts.profiles);
    server::Server server(path, std::move(config), std::move(policy), read_started);
    return server.run();
  } catch (const filters::LoadError& e) {
    spdlog::critical("refusing to start: {}", e.what());
  } catch (const std::exception& e) {
    spdlog::critical("refusing to start: {}", e.what());
  }
  return 1;
}

}  // namespace hallpass::cli
