#include "proxy/config/pseudonym_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
  // The mode is checked on the open file (fstat), so the file read is the file checked.
  int fd = ::open(key_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    refuse(key_file, std::string("cannot read the key: ") + std::strerror(errno));
  }
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close_on_return{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    refuse(key_file, std::string("cannot read the key: ") + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    refuse(key_file, "not a regular file");
  }
  if ((info.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) != 0) {
    refuse(key_file,
           "readable by every user or writable by more than its owner; chmod 0600 (or 0640 "
           "with the service's group)");
  }
  std::string key;
  char buffer[4096];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0 && key.size() < 65536) {
    key.append(buffer, static_cast<std::size_t>(got));
  }
  if (got < 0) {
    refuse(key_file, std::string("cannot read the key: ") + std::strerror(errno));
  }
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
