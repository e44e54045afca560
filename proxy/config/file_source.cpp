#include "proxy/config/file_source.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace hallpass::embedded {
extern const std::pair<std::string_view, std::string_view> files[];
extern const std::size_t file_count;
}  // namespace hallpass::embedded

namespace hallpass::config {

std::optional<std::string> read_file(const std::string& path) {
  if (path.starts_with(kEmbeddedPrefix)) {
    auto key = std::string_view(path).substr(kEmbeddedPrefix.size());
    for (std::size_t i = 0; i < embedded::file_count; ++i) {
      if (embedded::files[i].first == key) {
        return std::string(embedded::files[i].second);
      }
    }
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return std::move(text).str();
}

std::string resolve_path(const std::string& relative_to, const std::string& path) {
  // Absolute paths always name the real file system, also from the embedded default
  // (its audit log goes to /var/log, not into the binary).
  if (path.empty() || path.starts_with(kEmbeddedPrefix) || path.front() == '/') {
    return path;
  }
  bool embedded = relative_to.starts_with(kEmbeddedPrefix);
  std::filesystem::path base(embedded ? relative_to.substr(kEmbeddedPrefix.size()) : relative_to);
  std::filesystem::path target(path);
  if (target.is_relative()) {
    target = (base.parent_path() / target).lexically_normal();
  }
  return embedded ? std::string(kEmbeddedPrefix) + target.string() : target.string();
}

}  // namespace hallpass::config
