#include "proxy/record/pseudonym.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <stdexcept>
#include <string>

namespace hallpass::record {

namespace {

constexpr std::size_t kSha256Bytes = 32;
constexpr char kHex[] = "0123456789abcdef";

}  // namespace

Pseudonymizer::Pseudonymizer(std::string_view key) {
  tls::OpensslPtr<EVP_MAC, &EVP_MAC_free> mac(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  if (!mac) {
    throw std::runtime_error("audit pseudonyms: HMAC unavailable: " + tls::openssl_error_text());
  }
  keyed_.reset(EVP_MAC_CTX_new(mac.get()));
  char digest[] = OSSL_DIGEST_NAME_SHA2_256;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!keyed_ || EVP_MAC_init(keyed_.get(), reinterpret_cast<const unsigned char*>(key.data()),
                              key.size(), params) != 1) {
    throw std::runtime_error("audit pseudonyms: HMAC-SHA256 setup failed: " +
                             tls::openssl_error_text());
  }
}

Pseudonym Pseudonymizer::client(std::string_view address) const {
  return make("c-", "client:", address);
}

Pseudonym Pseudonymizer::user(std::string_view name) const {
  return make("u-", "user:", name);
}

Pseudonym Pseudonymizer::make(std::string_view prefix, std::string_view kind,
                              std::string_view value) const {
  Pseudonym out;
  out.text[0] = prefix[0];
  out.text[1] = prefix[1];
  unsigned char digest[kSha256Bytes];
  std::size_t length = 0;
  tls::OpensslPtr<EVP_MAC_CTX, &EVP_MAC_CTX_free> ctx(EVP_MAC_CTX_dup(keyed_.get()));
  bool ok = ctx &&
            EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(kind.data()),
                           kind.size()) == 1 &&
            EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(value.data()),
                           value.size()) == 1 &&
            EVP_MAC_final(ctx.get(), digest, &length, sizeof digest) == 1 && length == kSha256Bytes;
  if (!ok) {
    // Only out of memory gets here. Never fall back to the real value: a line that says
    // "c-xxxxxxxxxxxxxxxx" is still a line, and it names nobody.
    tls::openssl_error_text();
    for (std::size_t i = 2; i < out.text.size(); ++i) {
      out.text[i] = 'x';
    }
    return out;
  }
  for (std::size_t i = 0; i < Pseudonym::kHexDigits / 2; ++i) {
    out.text[2 + 2 * i] = kHex[digest[i] >> 4];
    out.text[3 + 2 * i] = kHex[digest[i] & 0x0f];
  }
  return out;
}

}  // namespace hallpass::record
