#include "proxy/record/audit_log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "proxy/record/json.hpp"

namespace hallpass::record {

AuditLog::AuditLog(const config::Audit& settings) {
  std::filesystem::path path(settings.path);
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  pool_ = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
      settings.path, settings.max_size_mb * 1024 * 1024, settings.max_files);
  logger_ = std::make_shared<spdlog::async_logger>("audit", sink, pool_,
                                                   spdlog::async_overflow_policy::block);
  logger_->set_pattern("%v");
  // Flushed by Server every kAuditFlushInterval and at shutdown, not per line: a write()
  // per request costs more than the rest of the audit path together.
}

AuditLog::~AuditLog() {
  flush();
}

void AuditLog::write(const Outcome& outcome) {
  logger_->info(audit_line(outcome));
}

void AuditLog::flush() {
  logger_->flush();
}

std::string audit_line(const Outcome& o) {
  std::string line = "{";
  line.reserve(512);
  append_json_field(line, "time", iso_utc(o.time));
  append_json_field(line, "request_id", o.request_id);
  append_json_field(line, "client", o.client);
  if (!o.user.empty()) {
    append_json_field(line, "user", o.user);
  }
  append_json_field(line, "building", o.decision.building);
  append_json_field(line, "role", filters::to_string(o.decision.role));
  append_json_field(line, "mode", o.mode);
  append_json_field(line, "method", o.method);
  append_json_field(line, "host", o.host);
  append_json_field(line, "port", o.port);
  append_json_field(line, "path", o.path);
  append_json_field(line, "action", filters::to_string(o.decision.action));
  append_json_field(line, "step", filters::to_string(o.decision.step));
  append_json_field(line, "category", o.decision.category);
  append_json_field(line, "rule", o.decision.rule);
  append_json_field(line, "reason", o.decision.reason_code);
  if (!o.decision.schedule.empty()) {
    append_json_field(line, "schedule", o.decision.schedule);
  }
  if (o.decision.would_block) {
    append_json_key(line, "would_block");
    line += "true";
  }
  append_json_field(line, "status", static_cast<long long>(o.status));
  append_json_field(line, "bytes_in", static_cast<long long>(o.bytes_from_client));
  append_json_field(line, "bytes_out", static_cast<long long>(o.bytes_to_client));
  if (!o.redirect_to.empty()) {
    append_json_field(line, "redirect_to", o.redirect_to);
  }
  if (!o.enforced_via.empty()) {
    append_json_field(line, "enforced_via", o.enforced_via);
  }
  if (!o.upstream_error.empty()) {
    append_json_field(line, "upstream_error", o.upstream_error);
  }
  if (!o.server_name.empty()) {
    append_json_field(line, "sni", o.server_name);
  }
  if (!o.tls.empty()) {
    append_json_field(line, "tls", o.tls);
  }
  if (!o.inspect_failure.empty()) {
    append_json_field(line, "inspect_failure", o.inspect_failure);
  }
  if (o.encrypted_client_hello) {
    append_json_key(line, "ech");
    line += "true";
  }
  append_json_key(line, "duration_ms");
  line += std::to_string(o.duration_seconds * 1000.0);
  if (o.decision.alert) {
    append_json_field(line, "severity", "critical");
  }
  if (!o.content_snippet.empty()) {
    append_json_field(line, "snippet", o.content_snippet);
    append_json_key(line, "offset");
    line += std::to_string(o.content_offset);
  }
  if (!o.content_unjudged.empty()) {
    append_json_field(line, "content_unjudged", o.content_unjudged);
  }
  if (o.websocket_message != 0) {
    append_json_key(line, "ws_message");
    line += std::to_string(o.websocket_message);
  }
  if (o.websocket_messages != 0) {
    append_json_key(line, "ws_messages");
    line += std::to_string(o.websocket_messages);
  }
  if (o.websocket_close != 0) {
    append_json_key(line, "ws_close");
    line += std::to_string(o.websocket_close);
  }
  append_json_key(line, "flags");
  line += '[';
  for (const auto& flag : o.flags) {
    line += line.back() == '[' ? "{" : ",{";
    append_json_field(line, "category", flag.category);
    append_json_field(line, "pattern", flag.pattern);
    append_json_field(line, "severity", filters::to_string(flag.severity));
    line += '}';
  }
  line += "]}";
  return line;
}

}  // namespace hallpass::record
