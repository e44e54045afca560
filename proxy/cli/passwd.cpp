// `hallpass passwd NAME ROLE`: a line for the proxy-authentication users file.
#include <iostream>
#include <string>

#include "proxy/cli/commands.hpp"
#include "proxy/session/auth.hpp"

namespace hallpass::cli {

int passwd_command(const Args& args) {
  if (args.size() != 2 || (args[1] != "staff" && args[1] != "student") ||
      args[0].find(':') != std::string::npos || args[0].empty()) {
    std::cerr << "usage: hallpass passwd NAME staff|student   (the password is read from stdin)\n"
                 "Prints NAME:ROLE:pbkdf2-sha256$... for the file named by auth.users_file.\n";
    return args.size() == 1 && (args[0] == "--help" || args[0] == "-h") ? 0 : 2;
  }
  std::string password;
  if (!std::getline(std::cin, password) || password.empty()) {
    std::cerr << "hallpass passwd: no password on stdin\n";
    return 2;
  }
  std::cout << args[0] << ":" << args[1] << ":" << session::make_verifier(password) << "\n";
  return 0;
}

}  // namespace hallpass::cli
