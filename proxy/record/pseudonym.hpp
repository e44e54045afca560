// Keyed pseudonyms for the audit log (`audit.pseudonymize`): a client address becomes
// "c-" and a user name "u-", followed by the first 16 hex digits (64 bits) of
// HMAC-SHA256(key, "client:" ADDRESS) or HMAC-SHA256(key, "user:" NAME). The same input gives
// the same pseudonym under one key, so a device's lines stay linkable for reports and alerts;
// without the key they cannot be turned back into addresses, even by trying all 2^32 IPv4
// addresses, which a plain hash would allow. The "client:"/"user:" prefix keeps a user named
// like an address from sharing its pseudonym.
#pragma once

#include <array>
#include <string_view>

#include "proxy/tls/openssl_handles.hpp"

namespace hallpass::record {

// Fixed size and held by value: a line's pseudonyms cost no allocation.
struct Pseudonym {
  static constexpr std::size_t kHexDigits = 16;
  std::array<char, 2 + kHexDigits> text{};
  std::string_view view() const { return {text.data(), text.size()}; }
};

class Pseudonymizer {
 public:
  // Throws std::runtime_error when OpenSSL cannot set up HMAC-SHA256 with `key`.
  explicit Pseudonymizer(std::string_view key);

  // Safe to call from several threads at once: each call works on its own copy of the keyed
  // context.
  Pseudonym client(std::string_view address) const;
  Pseudonym user(std::string_view name) const;

 private:
  Pseudonym make(std::string_view prefix, std::string_view kind, std::string_view value) const;

  // HMAC with the key already absorbed; each pseudonym starts from a copy, so the key's
  // two hash blocks are not recomputed per line.
  tls::OpensslPtr<EVP_MAC_CTX, &EVP_MAC_CTX_free> keyed_;
};

}  // namespace hallpass::record
