#include "proxy/server/file_watch.hpp"

#include <sys/stat.h>

#include "proxy/config/file_source.hpp"

namespace hallpass::server {

FileWatch::FileWatch(const config::Config& config) {
  std::vector<std::string> paths = config.files;
  for (const auto& list : config.policy.lists) {
    paths.push_back(list.folder + "/domains");
  }
  for (const auto& [name, file] : config.rule_files) {
    paths.push_back(file);
  }
  for (const auto& [name, file] : config.content_files) {
    paths.push_back(file);
  }
  if (!config.users_file.empty()) {
    paths.push_back(config.users_file);
  }
  for (const auto& path : paths) {
    if (!path.starts_with(config::kEmbeddedPrefix)) {
      seen_.push_back(look(path));
    }
  }
}

FileWatch::Seen FileWatch::look(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return {path, -1, -1};  // a missing file is a state too: its return is a change
  }
  return {path, static_cast<long long>(info.st_size),
          static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec};
}

bool FileWatch::changed() {
  bool any = false;
  for (auto& seen : seen_) {
    auto now = look(seen.path);
    if (!(now == seen)) {
      seen = now;
      any = true;
    }
  }
  return any;
}

}  // namespace hallpass::server
