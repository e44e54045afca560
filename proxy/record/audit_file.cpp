#include "proxy/record/audit_file.hpp"

#include <fcntl.h>
#include <prometheus/counter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace hallpass::record {

namespace {

// Written at each flush (every 200 ms) or when this fills: at most this much is at risk if
// the process dies, and one write(2) carries a few hundred lines under load.
constexpr std::size_t kBufferBytes = 64 * 1024;
// A full disk fails every flush; one error line per interval says so without flooding stderr.
constexpr std::chrono::seconds kReportInterval{10};

bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

}  // namespace

AuditFile::AuditFile(std::string path, std::uint64_t max_bytes, std::size_t max_files,
                     Counters counters)
    : path_(std::move(path)),
      max_bytes_(std::max<std::uint64_t>(max_bytes, 1)),
      max_files_(std::max<std::size_t>(max_files, 1)),
      counters_(counters) {
  if (!open_active()) {
    throw std::runtime_error("cannot open the audit log " + path_ + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(fd_, &info) == 0) {
    size_ = static_cast<std::uint64_t>(info.st_size);
  }
  // The file is open write-only; a second descriptor reads its last byte.
  if (int reader = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC); reader >= 0) {
    char last = '\n';
    if (size_ > 0 && ::pread(reader, &last, 1, static_cast<off_t>(size_ - 1)) == 1) {
      torn_ = last != '\n';
    }
    ::close(reader);
  }
  buffer_.reserve(kBufferBytes);
}

AuditFile::~AuditFile() {
  write_out();
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::string AuditFile::file_name(std::size_t index) const {
  return spdlog::sinks::rotating_file_sink_mt::calc_filename(path_, index);
}

void AuditFile::lost(std::string_view why) {
  std::lock_guard<std::mutex> lock(mutex_);
  drop(1, why, 0);
}

void AuditFile::sink_it_(const spdlog::details::log_msg& msg) {
  counters_.lines.Increment();
  std::string_view line(msg.payload.data(), msg.payload.size());
  auto length = line.size() + 1;
  auto pending = size_ + buffer_.size();
  if (pending > 0 && pending + length > max_bytes_) {
    write_out();
    rotate();
  }
  if (buffer_.size() + length > kBufferBytes) {
    write_out();
  }
  buffer_.append(line);
  buffer_ += '\n';
  ++buffered_lines_;
}

void AuditFile::flush_() {
  write_out();
}

bool AuditFile::open_active() {
  // 0640: the log names clients; the service's group may read it, other users may not.
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  return fd_ >= 0;
}

void AuditFile::write_out() {
  if (buffer_.empty()) {
    return;
  }
  auto lines = buffered_lines_;
  buffered_lines_ = 0;
  if (fd_ < 0 && !open_active()) {
    buffer_.clear();
    drop(lines, "cannot open the file", errno);
    return;
  }
  std::size_t lead = torn_ ? 1 : 0;
  if (torn_) {
    buffer_.insert(buffer_.begin(), '\n');
  }
  std::size_t written = 0;
  int error = 0;
  while (written < buffer_.size()) {
    auto n = ::write(fd_, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  size_ += written;
  if (written > 0) {
    torn_ = buffer_[written - 1] != '\n';
  }
  if (written < buffer_.size()) {
    // Lines that reached the file whole count as written, the one cut short as dropped;
    // a line missing only its newline is whole (the next write, or start, supplies it).
    auto first = buffer_.begin() + static_cast<std::ptrdiff_t>(std::min(lead, written));
    auto whole = static_cast<std::uint64_t>(
        std::count(first, buffer_.begin() + static_cast<std::ptrdiff_t>(written), '\n'));
    if (written > lead && buffer_[written - 1] != '\n' && buffer_[written] == '\n') {
      ++whole;
    }
    drop(lines - whole, "cannot write", error);
  } else if (failing_) {
    failing_ = false;
    spdlog::warn("audit log {}: writing again; {} audit lines were dropped in all", path_,
                 dropped_);
  }
  buffer_.clear();
}

void AuditFile::rotate() {
  ::close(fd_);
  fd_ = -1;
  bool moved = false;
  for (auto i = max_files_; i > 0; --i) {
    auto from = file_name(i - 1);
    if (!exists(from)) {
      continue;
    }
    // rename(2) replaces the target in one step: the oldest file goes as the next takes its
    // name. On failure stop, so no file is renamed over one that was not moved on.
    if (std::rename(from.c_str(), file_name(i).c_str()) != 0) {
      spdlog::error(
          "audit log {}: cannot rename {} for rotation: {}; appending to the active file instead",
          path_, from, std::strerror(errno));
      break;
    }
    moved = i == 1;
  }
  // The new active file, or the old one again when its rename failed: appended to, never
  // truncated. Either way the next rotation is tried after another max_bytes_.
  open_active();
  size_ = 0;
  if (moved) {
    // A line cut short stays, counted as dropped, at the end of the file that was moved.
    torn_ = false;
  }
}

void AuditFile::drop(std::uint64_t lines, std::string_view what, int error) {
  if (lines == 0) {
    return;
  }
  dropped_ += lines;
  failing_ = true;
  counters_.dropped.Increment(static_cast<double>(lines));
  auto now = std::chrono::steady_clock::now();
  if (last_report_ != std::chrono::steady_clock::time_point{} &&
      now - last_report_ < kReportInterval) {
    return;
  }
  last_report_ = now;
  spdlog::error(
      "audit log {}: {}{}{}; {} audit lines dropped so far (hallpass_audit_dropped_total)", path_,
      what, error != 0 ? ": " : "", error != 0 ? std::strerror(error) : "", dropped_);
}

}  // namespace hallpass::record
