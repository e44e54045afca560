#include "proxy/config/apply.hpp"

#include <charconv>

#include "proxy/config/file_source.hpp"

namespace hallpass::config {

namespace {

void apply_limits(Limits& limits, const YAML::Node& node, const YamlReader& r) {
  r.expect_keys(node, "limits",
                {"max_connections", "max_head_bytes", "max_header_count", "max_line_bytes",
                 "max_held_bytes"});
  if (auto n = node["max_held_bytes"]) {
    limits.max_held_bytes = r.count(n, "limits.max_held_bytes");
  }
  if (auto n = node["max_connections"]) {
    limits.max_connections = r.count(n, "limits.max_connections");
  }
  if (auto n = node["max_head_bytes"]) {
    limits.max_head_bytes = r.count(n, "limits.max_head_bytes");
  }
  if (auto n = node["max_header_count"]) {
    limits.max_header_count = r.count(n, "limits.max_header_count");
  }
  if (auto n = node["max_line_bytes"]) {
    limits.max_line_bytes = r.count(n, "limits.max_line_bytes");
  }
}

void apply_timeouts(Timeouts& timeouts, const YAML::Node& node, const YamlReader& r) {
  r.expect_keys(node, "timeouts",
                {"head", "idle", "connect", "upstream", "tunnel_idle", "shutdown"});
  std::pair<const char*, Seconds*> fields[] = {{"head", &timeouts.head},
                                               {"idle", &timeouts.idle},
                                               {"connect", &timeouts.connect},
                                               {"upstream", &timeouts.upstream},
                                               {"tunnel_idle", &timeouts.tunnel_idle},
                                               {"shutdown", &timeouts.shutdown}};
  for (auto [name, field] : fields) {
    if (auto n = node[name]) {
      *field = Seconds(r.seconds(n, std::string("timeouts.") + name));
    }
  }
}

void apply_upstream(Upstream& upstream, const YAML::Node& node, const YamlReader& r) {
  r.expect_keys(node, "upstream",
                {"resolve", "ca_file", "allow_loopback", "dns", "max_idle_per_host", "pool_idle"});
  if (auto n = node["resolve"]; n && !n.IsNull()) {
    r.expect_map(n, "upstream.resolve");
    for (const auto& item : n) {
      auto from = item.first.Scalar();
      upstream.resolve[from] = r.string(item.second, "upstream.resolve." + from);
    }
  }
  if (auto n = node["ca_file"]) {
    upstream.ca_file = resolve_path(r.file(), r.string(n, "upstream.ca_file"));
  }
  if (auto n = node["dns"]) {
    upstream.dns = r.boolean(n, "upstream.dns");
  }
  if (auto n = node["allow_loopback"]) {
    upstream.allow_loopback = r.boolean(n, "upstream.allow_loopback");
  }
  if (auto n = node["max_idle_per_host"]) {
    upstream.max_idle_per_host = r.count(n, "upstream.max_idle_per_host");
  }
  if (auto n = node["pool_idle"]) {
    upstream.pool_idle = Seconds(r.seconds(n, "upstream.pool_idle"));
  }
}

// Fractional, so a test (or a small appliance) can rotate every few hundred kilobytes.
std::uint64_t audit_size_bytes(const YAML::Node& node, const YamlReader& r) {
  static constexpr double kMinMb = 0.01;
  static constexpr double kMaxMb = 1024.0 * 1024.0;
  auto text = r.string(node, "audit.max_size_mb");
  double mb = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mb);
  if (ec != std::errc{} || end != text.data() + text.size() || !(mb >= kMinMb && mb <= kMaxMb)) {
    r.fail(node, "audit.max_size_mb",
           "expected a size in MB from 0.01 (fractions allowed), got \"" + text + "\"");
  }
  return static_cast<std::uint64_t>(mb * 1024 * 1024);
}

void apply_audit(Audit& audit, const YAML::Node& node, const YamlReader& r) {
  r.expect_keys(
      node, "audit",
      {"path", "max_size_mb", "max_files", "format", "pseudonymize", "pseudonym_key_file"});
  if (auto n = node["path"]) {
    audit.path = resolve_path(r.file(), r.string(n, "audit.path"));
  }
  if (auto n = node["max_size_mb"]) {
    audit.max_size_bytes = audit_size_bytes(n, r);
  }
  if (auto n = node["max_files"]) {
    audit.max_files = r.count(n, "audit.max_files");
    // With no rotated file to rename into, rotating would mean truncating the log in place.
    if (audit.max_files == 0) {
      r.fail(n, "audit.max_files", "must be at least 1");
    }
  }
  if (auto n = node["format"]) {
    auto format = r.string(n, "audit.format");
    if (format != "json" && format != "squid") {
      r.fail(n, "audit.format", "expected json or squid, got \"" + format + "\"");
    }
    audit.format = format == "json" ? AuditFormat::json : AuditFormat::squid;
  }
  if (auto n = node["pseudonymize"]) {
    audit.pseudonymize = r.boolean(n, "audit.pseudonymize");
  }
  if (auto n = node["pseudonym_key_file"]) {
    audit.pseudonym_key_file = resolve_path(r.file(), r.string(n, "audit.pseudonym_key_file"));
  }
}

void apply_tls(Config& config, const YAML::Node& node, const YamlReader& r) {
  r.expect_keys(node, "tls", {"ca_cert", "ca_key", "leaf_cache"});
  if (auto n = node["leaf_cache"]) {
    config.tls_leaf_cache = r.count(n, "tls.leaf_cache");
  }
  if (auto n = node["ca_cert"]) {
    config.tls_ca_cert = resolve_path(r.file(), r.string(n, "tls.ca_cert"));
  }
  if (auto n = node["ca_key"]) {
    config.tls_ca_key = resolve_path(r.file(), r.string(n, "tls.ca_key"));
  }
}

}  // namespace

void apply_document(Config& config, const YAML::Node& root, const YamlReader& r) {
  r.expect_keys(root, "", {"extends",       "district",    "listen",        "admin",    "clients",
                           "connect_ports", "limits",      "timeouts",      "upstream", "tls",
                           "audit",         "lists",       "buildings",     "policies", "approved",
                           "never_inspect", "rules",       "accounts",      "reload",   "auth",
                           "content",       "transparent", "proxy_protocol"});
  if (auto n = root["district"]) {
    r.expect_keys(n, "district", {"name", "contact"});
    if (n["name"]) {
      config.district_name = r.string(n["name"], "district.name");
    }
    if (n["contact"]) {
      config.district_contact = r.string(n["contact"], "district.contact");
    }
  }
  if (auto n = root["listen"]) {
    config.listen = n.IsSequence() ? r.strings(n, "listen") : std::vector{r.string(n, "listen")};
  }
  if (auto n = root["transparent"]) {
    r.expect_keys(n, "transparent", {"listen", "tproxy"});
    if (auto listen = n["listen"]) {
      config.transparent_listen = listen.IsSequence()
                                      ? r.strings(listen, "transparent.listen")
                                      : std::vector{r.string(listen, "transparent.listen")};
    }
    if (n["tproxy"]) {
      config.transparent_tproxy = r.boolean(n["tproxy"], "transparent.tproxy");
    }
  }
  if (auto n = root["proxy_protocol"]) {
    r.expect_keys(n, "proxy_protocol", {"trusted"});
    if (n["trusted"]) {
      config.proxy_protocol_trusted = r.networks(n["trusted"], "proxy_protocol.trusted");
    }
  }
  if (auto n = root["admin"]) {
    r.expect_keys(n, "admin", {"listen"});
    if (n["listen"]) {
      config.admin_listen = r.string(n["listen"], "admin.listen");
    }
  }
  if (auto n = root["connect_ports"]) {
    if (!n.IsSequence()) {
      r.fail(n, "connect_ports", "expected a list of ports");
    }
    config.connect_ports.clear();
    for (std::size_t i = 0; i < n.size(); ++i) {
      config.connect_ports.push_back(r.port(n[i], "connect_ports[" + std::to_string(i) + "]"));
    }
  }
  if (auto n = root["limits"]) {
    apply_limits(config.limits, n, r);
  }
  if (auto n = root["timeouts"]) {
    apply_timeouts(config.timeouts, n, r);
  }
  if (auto n = root["upstream"]) {
    apply_upstream(config.upstream, n, r);
  }
  if (auto n = root["tls"]) {
    apply_tls(config, n, r);
  }
  if (auto n = root["audit"]) {
    apply_audit(config.audit, n, r);
  }
  if (auto n = root["auth"]) {
    r.expect_keys(n, "auth", {"users_file", "required", "realm"});
    if (n["users_file"]) {
      config.users_file = resolve_path(r.file(), r.string(n["users_file"], "auth.users_file"));
    }
    if (n["required"]) {
      config.policy.auth.required = r.boolean(n["required"], "auth.required");
    }
    if (n["realm"]) {
      config.policy.auth.realm = r.string(n["realm"], "auth.realm");
    }
  }
  if (auto n = root["reload"]) {
    r.expect_keys(n, "reload", {"watch_interval"});
    if (auto w = n["watch_interval"]) {
      auto text = r.string(w, "reload.watch_interval");
      config.watch_interval = Seconds(text == "0" ? 0 : r.seconds(w, "reload.watch_interval"));
    }
  }
  if (auto n = root["rules"]; n && !n.IsNull()) {
    r.expect_map(n, "rules");
    for (const auto& item : n) {
      auto name = item.first.Scalar();
      config.rule_files[name] = resolve_path(r.file(), r.string(item.second, "rules." + name));
    }
  }
  if (auto n = root["content"]; n && !n.IsNull()) {
    r.expect_keys(n, "content", {"patterns", "thresholds", "hold_bytes"});
    if (auto hold = n["hold_bytes"]) {
      config.content_hold_bytes = r.count(hold, "content.hold_bytes");
    }
    if (auto patterns = n["patterns"]; patterns && !patterns.IsNull()) {
      r.expect_map(patterns, "content.patterns");
      for (const auto& item : patterns) {
        auto name = item.first.Scalar();
        config.content_files[name] =
            resolve_path(r.file(), r.string(item.second, "content.patterns." + name));
      }
    }
  }
  apply_policy_sections(config.policy, root, r);
}

}  // namespace hallpass::config
