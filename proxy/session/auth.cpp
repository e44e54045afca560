#include "proxy/session/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <unordered_map>

namespace hallpass::session {

namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::array<unsigned char, 32> pbkdf2(std::string_view password, std::string_view salt,
                                     unsigned iterations) {
  std::array<unsigned char, 32> out{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1) {
    throw std::runtime_error("PBKDF2 failed");
  }
  return out;
}

// `verifier` was checked when the users file loaded: pbkdf2-sha256$N$SALT$HASH.
bool password_matches(std::string_view password, std::string_view verifier) {
  verifier.remove_prefix(verifier.find('$') + 1);
  auto first = verifier.find('$');
  auto second = verifier.find('$', first + 1);
  auto iterations = static_cast<unsigned>(std::stoul(std::string(verifier.substr(0, first))));
  auto salt = from_hex(verifier.substr(first + 1, second - first - 1));
  auto expected = from_hex(verifier.substr(second + 1));
  auto got = pbkdf2(password, salt, iterations);
  return expected.size() == got.size() &&
         CRYPTO_memcmp(expected.data(), got.data(), got.size()) == 0;
}

// "Basic dXNlcjpwYXNz" → "user:pass"; empty when it is not Basic or not base64.
std::string decode_basic(std::string_view header) {
  static constexpr std::string_view kBasic = "Basic ";
  if (header.size() <= kBasic.size() || header.substr(0, kBasic.size()) != kBasic) {
    return {};
  }
  auto encoded = header.substr(kBasic.size());
  if (encoded.size() % 4 != 0 || encoded.size() > 1024) {
    return {};
  }
  std::string out(encoded.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(encoded.data()),
                          static_cast<int>(encoded.size()));
  if (n < 0) {
    return {};
  }
  auto padding = static_cast<std::size_t>(encoded.ends_with("==")  ? 2
                                          : encoded.ends_with("=") ? 1
                                                                   : 0);
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

}  // namespace

AuthOutcome authenticate(const filters::Policy& policy, std::string_view header) {
  if (header.empty()) {
    return {};
  }
  // header → (user, verifier it was checked against): a changed password in a reloaded
  // users file no longer matches the remembered verifier, so it is checked again.
  thread_local std::unordered_map<std::string, std::pair<std::string, std::string>> verified;
  if (auto it = verified.find(std::string(header)); it != verified.end()) {
    const auto* user = policy.find_user(it->second.first);
    if (user != nullptr && user->verifier == it->second.second) {
      return {AuthOutcome::valid, user};
    }
  }
  auto credentials = decode_basic(header);
  auto colon = credentials.find(':');
  if (colon == std::string::npos) {
    return {AuthOutcome::invalid, nullptr};
  }
  const auto* user = policy.find_user(std::string_view(credentials).substr(0, colon));
  if (user == nullptr) {
    // As slow as a wrong password, so the time of a 407 does not tell which names exist.
    static const std::string unknown_user = make_verifier("");
    password_matches(credentials.substr(colon + 1), unknown_user);
    return {AuthOutcome::invalid, nullptr};
  }
  if (!password_matches(credentials.substr(colon + 1), user->verifier)) {
    return {AuthOutcome::invalid, nullptr};
  }
  if (verified.size() >= 4096) {
    verified.clear();
  }
  verified.emplace(std::string(header), std::pair{user->name, user->verifier});
  return {AuthOutcome::valid, user};
}

std::string make_verifier(std::string_view password, unsigned iterations) {
  std::array<unsigned char, 16> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    throw std::runtime_error("no randomness for the salt");
  }
  auto hash = pbkdf2(password, std::string_view(reinterpret_cast<char*>(salt.data()), salt.size()),
                     iterations);
  return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + to_hex(salt.data(), salt.size()) +
         "$" + to_hex(hash.data(), hash.size());
}

}  // namespace hallpass::session
