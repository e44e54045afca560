// The secret behind the audit log's pseudonyms (`audit.pseudonym_key_file`). Whoever holds it
// can compute the pseudonym of any address or user name and so re-identify the log: it is
// refused unless it is long enough not to be guessed and not readable by every local user.
#pragma once

#include <string>

namespace hallpass::config {

inline constexpr std::size_t kMinPseudonymKeyBytes = 32;

// The key file's bytes without trailing line ends, so `openssl rand -hex 32 > FILE` and
// `openssl dgst -hmac "$(cat FILE)"` agree on the key. Throws LoadError naming the key file
// (or `config_file`, when pseudonymize is on and no key file is named).
std::string load_pseudonym_key(const std::string& key_file, const std::string& config_file);

}  // namespace hallpass::config
