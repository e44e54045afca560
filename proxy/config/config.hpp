// The daemon's settings as loaded from YAML. The policy part stays a PolicySpec until
// Policy::build compiles it; everything else is plain values the proxy reads at start.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "filters/policy_spec.hpp"

namespace hallpass::config {

using Seconds = std::chrono::duration<double>;

struct Limits {
  std::size_t max_connections = 10000;
  std::size_t max_head_bytes = 65536;
  std::size_t max_header_count = 100;
  std::size_t max_line_bytes = 16384;
  std::size_t max_held_bytes = 256 * 1024 * 1024;  // request bodies held for judging, in all
};

struct Timeouts {
  Seconds head{15};
  Seconds idle{60};
  Seconds connect{10};
  Seconds upstream{120};
  Seconds tunnel_idle{600};
  Seconds shutdown{10};
};

struct Upstream {
  std::map<std::string, std::string> resolve;  // "host" or "host:port" → "ip" or "ip:port"
  std::string ca_file;
  bool allow_loopback = false;  // connect to loopback destinations not named in `resolve`
  bool dns = true;              // false: only `resolve` entries and IP literals are reached
  std::size_t max_idle_per_host = 256;
  Seconds pool_idle{30};
};

enum class AuditFormat : std::uint8_t { json, squid };

struct Audit {
  std::string path;  // empty: no audit file (only for tools such as `check`)
  std::uint64_t max_size_bytes = 100 * 1024 * 1024;  // `max_size_mb`, which may be fractional
  std::size_t max_files = 10;                        // rotated files kept beside the active one
  AuditFormat format = AuditFormat::json;
  // Client addresses and user names become keyed pseudonyms (docs/audit.md).
  bool pseudonymize = false;
  std::string pseudonym_key_file;
  std::string pseudonym_key;  // the file's secret, read by load_config when pseudonymize is on
};

struct Config {
  std::string source;              // the file it came from, for messages ("embedded:/deploy/...")
  std::vector<std::string> files;  // every config file read, `extends` chain included
  // Seconds between checks of the config, list and rule files for changes (0: only SIGHUP).
  Seconds watch_interval{5};
  std::string district_name = "the school district";
  std::string district_contact = "the district IT help desk";
  std::vector<std::string> listen = {"127.0.0.1:3128"};
  std::string admin_listen = "127.0.0.1:9130";
  // Transparent gateway mode: addresses that take connections redirected by the gateway's
  // firewall (any original port); `tproxy` when they arrive by TPROXY, not REDIRECT.
  std::vector<std::string> transparent_listen;
  bool transparent_tproxy = false;
  // Load balancers whose PROXY protocol header names the client (explicit listeners only).
  std::vector<filters::IpNetwork> proxy_protocol_trusted;
  std::vector<std::uint16_t> connect_ports = {443};
  Limits limits;
  Timeouts timeouts;
  Upstream upstream;
  std::string tls_ca_cert;  // the minting CA (then its issuers); empty: never decrypt
  std::string tls_ca_key;
  std::size_t tls_leaf_cache = 10000;  // minted leaf certificates kept, least recently used out
  Audit audit;
  std::string users_file;                         // `auth.users_file`, read into policy.auth.users
  std::map<std::string, std::string> rule_files;  // `rules:` name → file, read into `policy`
  std::map<std::string, std::string> content_files;  // `content.patterns:` name → file
  // Bodies the policy may block on content are held up to this size before forwarding.
  std::size_t content_hold_bytes = 1024 * 1024;
  filters::PolicySpec policy;
};

}  // namespace hallpass::config
