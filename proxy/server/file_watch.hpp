// Notices when the config, list or rule files change, so an edited list takes effect
// without anyone sending SIGHUP. Polls size and mtime: a handful of stat() calls every few
// seconds costs nothing, works on every file system, and sees files replaced by rename
// (the usual way list downloads are installed), which inotify on a single file misses.
#pragma once

#include <string>
#include <vector>

#include "proxy/config/config.hpp"

namespace hallpass::server {

// A load reads its files between two looks at them, and an edit can land in between: the
// policy then holds a state the watch never saw. Each constructor looks after the load and
// keeps any file that may have changed during it as "changed", so the next look reloads.
class FileWatch {
 public:
  // The time file modification times are stamped with (the kernel's coarse real-time
  // clock), taken before a load starts reading.
  static long long file_clock_now_ns();

  // Files of `config` on the real file system (the embedded tree never changes), loaded by
  // reads that began at `read_started`: a file modified since may have been read before its
  // change.
  FileWatch(const config::Config& config, long long read_started);
  // The files of a reloaded `config`, whose reads began after `before` last reported a
  // change. A file `before` watched and that differs now from what `before` saw changed
  // during the reload; a file new to the watch is judged by `read_started`.
  FileWatch(const config::Config& config, const FileWatch& before, long long read_started);
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
  // What to remember of `path` after a load: its state now, unless the load may have read
  // another one (then a state no look returns, so the next look is a change).
  static Seen settled(const std::string& path, const Seen* before, long long read_started);
  std::vector<Seen> seen_;
};

}  // namespace hallpass::server
