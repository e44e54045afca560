#include "proxy/record/audit_log.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <spdlog/async.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "proxy/record/audit_file.hpp"
#include "proxy/record/json.hpp"
#include "proxy/record/pseudonym.hpp"
#include "proxy/record/squid_line.hpp"

namespace hallpass::record {

namespace {

// Lines queued for the file before write() blocks the worker that logs (back-pressure).
constexpr std::size_t kQueueLines = 8192;

prometheus::Counter& counter(prometheus::Registry& registry, const std::string& name,
                             const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

AuditLog::AuditLog(const config::Audit& settings, prometheus::Registry& registry)
    : format_(settings.format) {
  if (settings.pseudonymize) {
    if (settings.pseudonym_key.empty()) {
      throw std::runtime_error("audit.pseudonymize is on but no pseudonym key was loaded");
    }
    pseudonyms_ = std::make_unique<Pseudonymizer>(settings.pseudonym_key);
  }
  std::filesystem::path path(settings.path);
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  AuditFile::Counters counters{
      counter(registry, "hallpass_audit_lines_total",
              "Audit lines handed to the audit file (written, or counted as dropped)"),
      counter(registry, "hallpass_audit_dropped_total",
              "Audit lines that could not be written (full disk, I/O error); the error log "
              "names the file and the cause")};
  file_ = std::make_shared<AuditFile>(settings.path, settings.max_size_bytes, settings.max_files,
                                      counters);
  pool_ = std::make_shared<spdlog::details::thread_pool>(kQueueLines, 1);
  logger_ = std::make_shared<spdlog::async_logger>("audit", file_, pool_,
                                                   spdlog::async_overflow_policy::block);
  // A line lost anywhere between the queue and the sink is counted too, never silent.
  logger_->set_error_handler([file = file_](const std::string& why) { file->lost(why); });
  // Flushed by Server every kAuditFlushInterval and at shutdown, not per line: a write()
  // per request costs more than the rest of the audit path together.
}

AuditLog::~AuditLog() {
  // The pool's destructor runs every queued line through the sink before it joins; the
  // sink's destructor then writes what it buffered.
  logger_->flush();
  logger_.reset();
  pool_.reset();
  file_.reset();
}

void AuditLog::write(const Outcome& outcome) {
  if (!pseudonyms_) {
    emit(outcome);
    return;
  }
  // Building and role stay: they name a site and a group, not a person.
  Outcome masked = outcome;
  auto client = pseudonyms_->client(outcome.client);
  masked.client = client.view();
  Pseudonym user;
  if (!outcome.user.empty()) {
    user = pseudonyms_->user(outcome.user);
    masked.user = user.view();
  }
  emit(masked);
}

void AuditLog::emit(const Outcome& outcome) {
  auto line = format_ == config::AuditFormat::json ? audit_line(outcome) : squid_line(outcome);
  if (!line.empty()) {
    logger_->info(line);
  }
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
