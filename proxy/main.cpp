// argv → run | check | validate.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "proxy/cli/commands.hpp"
#include "proxy/version.hpp"

namespace {

constexpr const char* kUsage =
    "usage: hallpass <command> [options]\n"
    "  run [--config FILE]        serve (default: the embedded config)\n"
    "  check [--config FILE] --client IP [--method M] URL\n"
    "                             print the verdict for one request as JSON\n"
    "  validate [--config FILE]   load config and lists; report the first error\n"
    "  passwd NAME ROLE           read a password on stdin, print a users-file line\n"
    "  --version                  print the version\n"
    "Each command takes --help.\n";

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_logger_mt("hallpass");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  spdlog::set_default_logger(logger);

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "hallpass " << hallpass::kVersion << "\n";
    return 0;
  }
  auto command = args[0];
  args.erase(args.begin());
  if (command == "run") {
    return hallpass::cli::run_command(args);
  }
  if (command == "check") {
    return hallpass::cli::check_command(args);
  }
  if (command == "validate") {
    return hallpass::cli::validate_command(args);
  }
  if (command == "passwd") {
    return hallpass::cli::passwd_command(args);
  }
  std::cerr << "hallpass: unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
