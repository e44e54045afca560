#include <iostream>

#include "filters/load_error.hpp"
#include "proxy/accept/listener.hpp"
#include "proxy/cli/commands.hpp"
#include "proxy/config/load.hpp"

namespace hallpass::cli {

int validate_command(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: hallpass validate [--config FILE]\n"
                 "Load the config and every list; print counts, or the first error as\n"
                 "FILE:LINE: message, and exit 1.\n";
    return 0;
  }
  auto path = config_path(args);
  try {
    auto config = config::load_config(path);
    for (const auto& listen : config.listen) {
      accept::parse_listen_address(listen);
    }
    accept::parse_listen_address(config.admin_listen);
    auto counts = config::build_policy(config)->counts();
    std::cout << "ok: " << path << "\n"
              << "  categories:   " << counts.categories << "\n"
              << "  list domains: " << counts.list_domains << "\n"
              << "  buildings:    " << counts.buildings << "\n"
              << "  policies:     " << counts.profiles << "\n"
              << "  url rules:    " << counts.url_rules << "\n"
              << "  function rules: " << counts.function_rules << "\n"
              << "  anonymizer signatures: " << counts.signatures << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hallpass: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace hallpass::cli
