// Notices when the config, list or rule files change, so an edited list takes effect
// without anyone sending SIGHUP. Polls size and mtime: a handful of stat() calls every few
// seconds costs nothing, works on every file system, and sees files replaced by rename
// (the usual way list downloads are installed), which inotify on a single file misses.
#pragma once

#include <string>
#include <vector>

#include "proxy/config/config.hpp"

namespace hallpass::server {

class FileWatch {
 public:
  // Files of `config` on the real file system (the embedded tree never changes).
  explicit FileWatch(const config::Config& config);
  // The files of a reloaded `config`. A file `before` watched keeps the state `before` saw
  // when it reported the change, that is from before the reload read it: an edit made while
  // the reload was reading is then a change at the next look, never lost.
  FileWatch(const config::Config& config, const FileWatch& before);
  // True when any watched file changed since construction or the last call that said so.
  bool changed();

 private:
  struct Seen {
    std::string path;
    long long size = -1;
    long long mtime_ns = -1;
    bool operator==(const Seen&) const = default;
  };
  static Seen look(const std::string& path);
  std::vector<Seen> seen_;
};

}  // namespace hallpass::server
