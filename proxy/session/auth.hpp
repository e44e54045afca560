// Proxy authentication (RFC 7617 Basic over RFC 9110 §11.7) for shared machines: a valid
// user's role replaces the role of the client's network. Passwords are checked against
// PBKDF2-SHA256 verifiers; a successful check is remembered per thread by the exact header,
// so the slow hash runs once per user and password, not once per request.
#pragma once

#include <string>
#include <string_view>

#include "filters/policy.hpp"

namespace hallpass::session {

struct AuthOutcome {
  enum Kind { none, valid, invalid } kind = none;
  const filters::UserSpec* user = nullptr;
};

AuthOutcome authenticate(const filters::Policy& policy, std::string_view proxy_authorization);

// A verifier line for the users file: pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX.
std::string make_verifier(std::string_view password, unsigned iterations = 200000);

}  // namespace hallpass::session
