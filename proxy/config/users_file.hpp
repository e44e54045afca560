// The proxy-authentication users file: one user a line,
//   NAME:ROLE:pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX
// `#` comments. `hallpass passwd NAME ROLE` prints such a line. Only salted, slow hashes
// are accepted, so a stolen file does not hand out the passwords.
#pragma once

#include <string>
#include <vector>

#include "filters/policy_spec.hpp"

namespace hallpass::config {

// Throws LoadError naming file and line for a malformed line.
std::vector<filters::UserSpec> load_users_file(const std::string& path);

}  // namespace hallpass::config
