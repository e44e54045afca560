#include "proxy/server/file_watch.hpp"

#include <sys/stat.h>
#include <time.h>

#include <algorithm>

#include "proxy/config/file_source.hpp"

namespace hallpass::server {

namespace {

// Every file a policy build reads: a list folder's urls and patterns are optional, and one
// that appears later is a change too.
std::vector<std::string> watched_paths(const config::Config& config) {
  std::vector<std::string> paths = config.files;
  for (const auto& list : config.policy.lists) {
    for (const char* file : {"/domains", "/urls", "/patterns"}) {
      paths.push_back(list.folder + file);
    }
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
  std::erase_if(paths,
                [](const std::string& path) { return path.starts_with(config::kEmbeddedPrefix); });
  return paths;
}

}  // namespace

long long FileWatch::file_clock_now_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

FileWatch::FileWatch(const config::Config& config, long long read_started) {
  for (const auto& path : watched_paths(config)) {
    seen_.push_back(settled(path, nullptr, read_started));
  }
}

FileWatch::FileWatch(const config::Config& config, const FileWatch& before,
                     long long read_started) {
  for (const auto& path : watched_paths(config)) {
    auto known = std::find_if(before.seen_.begin(), before.seen_.end(),
                              [&](const Seen& seen) { return seen.path == path; });
    seen_.push_back(settled(path, known != before.seen_.end() ? &*known : nullptr, read_started));
  }
}

FileWatch::Seen FileWatch::settled(const std::string& path, const Seen* before,
                                   long long read_started) {
  auto now = look(path);
  bool unsettled = before != nullptr ? !(now == *before) : now.mtime_ns >= read_started;
  if (unsettled) {
    return {path, -2, -2};
  }
  return now;
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
