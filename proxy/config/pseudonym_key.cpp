#include "proxy/config/pseudonym_key.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "filters/load_error.hpp"
#include "proxy/config/file_source.hpp"

namespace hallpass::config {

namespace {

[[noreturn]] void refuse(const std::string& key_file, const std::string& detail) {
  throw filters::LoadError(key_file, 0, "audit.pseudonym_key_file: " + detail);
}

}  // namespace

std::string load_pseudonym_key(const std::string& key_file, const std::string& config_file) {
  if (key_file.empty()) {
    throw filters::LoadError(config_file, 0,
                             "audit.pseudonymize is true but audit.pseudonym_key_file is not set");
  }
  if (key_file.starts_with(kEmbeddedPrefix)) {
    refuse(key_file, "a secret cannot be compiled into the binary; name a file on disk");
  }
  struct stat info {};
  if (::stat(key_file.c_str(), &info) != 0) {
    refuse(key_file, std::string("cannot read the key: ") + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    refuse(key_file, "not a regular file");
  }
  if ((info.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    refuse(key_file,
           "readable or writable by every user; chmod 0600 (or 0640 with the service's "
           "group)");
  }
  std::ifstream in(key_file, std::ios::binary);
  if (!in) {
    refuse(key_file, std::string("cannot read the key: ") + std::strerror(errno));
  }
  std::string key{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) {
    key.pop_back();
  }
  if (key.size() < kMinPseudonymKeyBytes) {
    refuse(key_file, "the key has " + std::to_string(key.size()) + " bytes; at least " +
                         std::to_string(kMinPseudonymKeyBytes) +
                         " are needed (make one with `openssl rand -hex 32`)");
  }
  return key;
}

}  // namespace hallpass::config
