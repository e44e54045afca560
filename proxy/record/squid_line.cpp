#include "proxy/record/squid_line.hpp"

#include <fmt/format.h>

#include <iterator>

namespace hallpass::record {

namespace {

constexpr std::string_view kConnect = "CONNECT";
constexpr std::string_view kWebSocketMessage = "WEBSOCKET";

// Squid's tools split on spaces, so nothing in a field may be one: like Squid's own `%#`
// encoding, bytes outside printable ASCII (and space) become %XX. Percent itself is left
// alone, so an already-encoded URL is not encoded twice.
void append_field(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (text.empty()) {
    out += '-';
    return;
  }
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    } else {
      out += static_cast<char>(c);
    }
  }
}

void append_host_port(std::string& out, std::string_view host, std::uint16_t port) {
  bool ipv6 = host.find(':') != std::string_view::npos;
  if (ipv6) {
    out += '[';
  }
  append_field(out, host);
  if (ipv6) {
    out += ']';
  }
  out += ':';
  out += std::to_string(port);
}

// CONNECT lines name host:port, as Squid's do. Requests name the absolute URL without the
// query (the outcome never holds one, and Squid's strip_query_terms does the same); a request
// read inside a decrypted tunnel is https.
void append_url(std::string& out, const Outcome& o) {
  if (o.host.empty()) {
    // What Squid logs for a request it could not parse far enough to name.
    out += "error:invalid-request";
    return;
  }
  if (o.method == kConnect) {
    append_host_port(out, o.host, o.port);
    return;
  }
  bool https = o.tls == "intercept";
  std::uint16_t default_port = https ? 443 : 80;
  out += https ? "https://" : "http://";
  if (o.port != 0 && o.port != default_port) {
    append_host_port(out, o.host, o.port);
  } else if (o.host.find(':') != std::string_view::npos) {
    out += '[';
    append_field(out, o.host);
    out += ']';
  } else {
    append_field(out, o.host);
  }
  if (o.path.empty()) {
    out += '/';
  } else {
    append_field(out, o.path);
  }
}

// HIER_DIRECT names where Hallpass connected (the SafeSearch host when a tunnel was sent
// there instead); Squid prints the peer's IP address there, Hallpass its name.
void append_hierarchy(std::string& out, const Outcome& o) {
  bool reached =
      o.decision.action == filters::Action::allow && o.upstream_error.empty() && !o.host.empty();
  if (!reached) {
    out += "HIER_NONE/-";
    return;
  }
  out += "HIER_DIRECT/";
  append_field(out, o.enforced_via.empty() ? o.host : o.enforced_via);
}

}  // namespace

std::string_view squid_result_code(const Outcome& o) {
  bool connect = o.method == kConnect;
  if (o.decision.action == filters::Action::block) {
    // A policy block or an authentication challenge is Squid's http_access / proxy_auth
    // denial (SARG's "denied" and "authentication failures" reports read TCP_DENIED/403 and
    // /407). A request refused as malformed (400, 414, 431, 501) never reached a rule:
    // Squid logs those as NONE.
    return o.status == 403 || o.status == 407 || o.status == 0 ? "TCP_DENIED" : "NONE";
  }
  if (!o.upstream_error.empty()) {
    return connect ? "NONE" : "TCP_MISS";
  }
  return connect ? "TCP_TUNNEL" : "TCP_MISS";
}

std::string squid_line(const Outcome& o) {
  if (o.method == kWebSocketMessage) {
    return {};
  }
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto elapsed = std::chrono::duration<double>(o.duration_seconds);
  auto end = o.time + duration_cast<std::chrono::system_clock::duration>(elapsed);
  long long end_ms = duration_cast<milliseconds>(end.time_since_epoch()).count();
  // Squid truncates the elapsed time to whole milliseconds; so does this.
  long long elapsed_ms = duration_cast<milliseconds>(elapsed).count();

  std::string line;
  line.reserve(160 + o.host.size() + o.path.size());
  auto out = std::back_inserter(line);
  fmt::format_to(out, "{}.{:03} {:>6} ", end_ms / 1000, end_ms % 1000, elapsed_ms);
  append_field(line, o.client);
  fmt::format_to(out, " {}/{:03} {} ", squid_result_code(o), o.status, o.bytes_to_client);
  append_field(line, o.method);
  line += ' ';
  append_url(line, o);
  line += ' ';
  append_field(line, o.user);
  line += ' ';
  append_hierarchy(line, o);
  // The content type: the outcome does not carry it.
  line += " -";
  return line;
}

}  // namespace hallpass::record
