// One JSON line per decision, written by spdlog's async logger to a size-rotated file.
// The queue blocks when full instead of dropping (async_overflow_policy::block): an
// audit log that silently loses lines is worse than a slower proxy.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "proxy/config/config.hpp"
#include "proxy/record/outcome.hpp"

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

namespace hallpass::record {

inline constexpr std::chrono::milliseconds kAuditFlushInterval{200};

class AuditLog {
 public:
  // Throws std::runtime_error naming the path when the file cannot be opened.
  explicit AuditLog(const config::Audit& settings);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void write(const Outcome& outcome);
  void flush();

 private:
  // The async logger holds its pool only weakly: the pool must live here.
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::logger> logger_;
};

// The audit line for `outcome`, without the trailing newline.
std::string audit_line(const Outcome& outcome);

}  // namespace hallpass::record
