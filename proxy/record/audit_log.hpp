// One line per decision, in JSON (complete) or Squid's access.log format (for Squid's
// reporting tools), written by spdlog's async logger to a size-rotated file (AuditFile).
// The queue blocks when full instead of dropping (async_overflow_policy::block): an audit
// log that silently loses lines is worse than a slower proxy. Lines the disk refuses are
// counted in hallpass_audit_dropped_total; every line handed to the file in
// hallpass_audit_lines_total.
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

namespace prometheus {
class Registry;
}

namespace hallpass::record {

class AuditFile;
class Pseudonymizer;

inline constexpr std::chrono::milliseconds kAuditFlushInterval{200};

class AuditLog {
 public:
  // Registers the audit counters on `registry` (at zero). Throws std::runtime_error naming
  // the path when the file cannot be opened.
  AuditLog(const config::Audit& settings, prometheus::Registry& registry);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void write(const Outcome& outcome);
  void flush();

 private:
  void emit(const Outcome& outcome);

  config::AuditFormat format_;
  std::unique_ptr<Pseudonymizer> pseudonyms_;
  std::shared_ptr<AuditFile> file_;
  // The async logger holds its pool only weakly: the pool must live here.
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::logger> logger_;
};

// The JSON audit line for `outcome`, without the trailing newline.
std::string audit_line(const Outcome& outcome);

}  // namespace hallpass::record
