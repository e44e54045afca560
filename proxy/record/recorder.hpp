// The `record` stage: every finished request goes to the audit log and the metrics.
#pragma once

#include <memory>

#include "proxy/record/audit_log.hpp"
#include "proxy/record/metrics.hpp"

namespace hallpass::record {

class Recorder {
 public:
  Recorder(Metrics& metrics, std::unique_ptr<AuditLog> audit)
      : metrics_(metrics), audit_(std::move(audit)) {}

  void record(const Outcome& outcome) {
    metrics_.count_request(outcome);
    if (audit_) {
      audit_->write(outcome);
    }
  }
  Metrics& metrics() { return metrics_; }
  void flush() {
    if (audit_) {
      audit_->flush();
    }
  }

 private:
  Metrics& metrics_;
  std::unique_ptr<AuditLog> audit_;
};

}  // namespace hallpass::record
