// The subcommands of `hallpass`. Each takes the arguments after its name and returns the
// process exit status.
#pragma once

#include <string>
#include <vector>

namespace hallpass::cli {

using Args = std::vector<std::string>;

int run_command(const Args& args);
int check_command(const Args& args);
int validate_command(const Args& args);
int passwd_command(const Args& args);

// The config path from `--config FILE`, or the embedded default.
std::string config_path(const Args& args);

}  // namespace hallpass::cli
