#include "proxy/config/users_file.hpp"

#include <algorithm>

#include "filters/load_error.hpp"
#include "proxy/config/file_source.hpp"

namespace hallpass::config {

namespace {

bool is_hex(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// "pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX" with at least 10,000 iterations.
bool valid_verifier(std::string_view v) {
  static constexpr std::string_view kScheme = "pbkdf2-sha256$";
  if (!v.starts_with(kScheme)) {
    return false;
  }
  v.remove_prefix(kScheme.size());
  auto first = v.find('$');
  auto second = v.find('$', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) {
    return false;
  }
  auto iterations = v.substr(0, first);
  if (iterations.empty() || iterations.size() > 9 ||
      !std::all_of(iterations.begin(), iterations.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(std::string(iterations)) < 10000) {
    return false;
  }
  return is_hex(v.substr(first + 1, second - first - 1)) && v.size() - second - 1 == 64 &&
         is_hex(v.substr(second + 1));
}

}  // namespace

std::vector<filters::UserSpec> load_users_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    throw filters::LoadError(path, 0, "cannot read the users file");
  }
  std::vector<filters::UserSpec> users;
  std::string_view rest = *text;
  int number = 0;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    auto line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == 0 || first == std::string_view::npos || second == std::string_view::npos) {
      throw filters::LoadError(path, number, "expected NAME:ROLE:VERIFIER");
    }
    filters::UserSpec user;
    user.name = line.substr(0, first);
    auto role = line.substr(first + 1, second - first - 1);
    if (role != "staff" && role != "student") {
      throw filters::LoadError(path, number,
                               "role must be staff or student, got \"" + std::string(role) + "\"");
    }
    user.role = role == "staff" ? filters::Role::staff : filters::Role::student;
    user.verifier = line.substr(second + 1);
    if (!valid_verifier(user.verifier)) {
      throw filters::LoadError(path, number,
                               "user \"" + user.name +
                                   "\": expected pbkdf2-sha256$ITERATIONS$SALT$HASH with at least "
                                   "10000 iterations (make one with `hallpass passwd`)");
    }
    users.push_back(std::move(user));
  }
  return users;
}

}  // namespace hallpass::config
