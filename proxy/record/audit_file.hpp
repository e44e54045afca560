// The audit log's file: an spdlog sink, run on the async logger's single thread, that appends
// lines, rotates by size and counts every line it could not write.
//
// Not spdlog's rotating_file_sink, for two reasons found reading it (1.10): it writes through
// stdio, whose buffer loses several lines at once on a full disk while reporting one error,
// so losses could not be counted; and when a rename fails it truncates the active file in
// place. This sink only ever renames (audit.jsonl → audit.1.jsonl → … → audit.N.jsonl, the
// oldest replaced: spdlog's names, which scripts already glob), writes with write(2) from its
// own buffer, counts exactly the lines that did not reach the disk, and keeps appending to
// the active file when a rename fails.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace prometheus {
class Counter;
}

namespace hallpass::record {

class AuditFile final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  struct Counters {
    prometheus::Counter& lines;    // every line handed to the sink
    prometheus::Counter& dropped;  // the part of those that is not in the file
  };

  // Opens `path` for appending (a restart continues the file). Throws std::runtime_error
  // naming the path when it cannot.
  AuditFile(std::string path, std::uint64_t max_bytes, std::size_t max_files, Counters counters);
  ~AuditFile() override;

  // A line lost before it reached the sink (the logger's error handler): counted and reported.
  void lost(std::string_view why);

  // Rotated file `index` (0: the active file), named as spdlog names them.
  std::string file_name(std::size_t index) const;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  bool open_active();
  void write_out();
  void rotate();
  void drop(std::uint64_t lines, std::string_view what, int error);

  std::string path_;
  std::uint64_t max_bytes_;
  std::size_t max_files_;
  Counters counters_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // bytes in the active file, counted toward max_bytes_
  // A write cut short left a line without its newline (a full disk, or a crash before this
  // start): the next write begins with one, so the lines after it parse.
  bool torn_ = false;
  std::string buffer_;  // whole lines, written at each flush or when full
  std::uint64_t buffered_lines_ = 0;
  std::uint64_t dropped_ = 0;
  bool failing_ = false;  // lines were dropped since the last write that went through whole
  std::chrono::steady_clock::time_point last_report_{};
};

}  // namespace hallpass::record
