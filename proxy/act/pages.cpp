#include "proxy/act/pages.hpp"

#include <ostream>

#include <boost/beast/http/status.hpp>

namespace hallpass::act {

namespace {

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
}

constexpr std::string_view kStyle =
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;"
    "color:#1a1a1a;line-height:1.5}h1{font-size:1.6rem}dl{display:grid;"
    "grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}"
    "dd{margin:0;word-break:break-all}.note{color:#444}";

struct Row {
  std::string_view label;
  std::string_view value;
};

std::string render(const PageContext& context, std::string_view title, std::string_view lead,
                   std::initializer_list<Row> rows) {
  std::string out;
  out.reserve(2048);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>";
  append_escaped(out, title);
  out += "</title><style>";
  out += kStyle;
  out += "</style></head><body><main><h1>";
  append_escaped(out, title);
  out += "</h1><p>";
  append_escaped(out, lead);
  out += "</p><dl>";
  for (const auto& row : rows) {
    if (row.value.empty()) {
      continue;
    }
    out += "<dt>";
    append_escaped(out, row.label);
    out += "</dt><dd>";
    append_escaped(out, row.value);
    out += "</dd>";
  }
  out += "</dl><p class=\"note\">If you think this is a mistake, contact ";
  append_escaped(out, context.district_contact);
  out += " and quote the request id. (";
  append_escaped(out, context.district_name);
  out += ", filtered by Hallpass.)</p></main></body></html>\n";
  return out;
}

}  // namespace

std::string_view explain_reason(std::string_view code) {
  struct Entry {
    std::string_view code;
    std::string_view words;
  };
  static constexpr Entry kWords[] = {
      {"building_block", "This site is on your school's local block list."},
      {"anonymizer_list", "This site hides where you browse (a proxy, VPN or similar service)."},
      {"anonymizer_signature",
       "This address looks like a web proxy used to get around the filter."},
      {"anonymizer_ip_literal", "Connections straight to a numeric address are not allowed."},
      {"anonymizer_doh", "Private DNS services that bypass the school's filter are not allowed."},
      {"social_function_block",
       "This part of the site is blocked: for example, direct messages are not allowed on the "
       "school network."},
      {"category_block", "This site is in a category your school's policy blocks."},
      {"content_block",
       "What this page was about to send is not allowed on the school network (for example "
       "personal information, or hurtful, sexual or drug-related words). Nothing was sent."},
      {"content_unjudged",
       "What this page was about to send was too large or in a form the school's filter cannot "
       "read, and your school's policy does not send what it cannot check. Nothing was sent."},
      {"anonymizer_not_tls", "Tunnels that are not secure web traffic are not allowed."},
      {"anonymizer_no_sni", "Secure connections must name the site they go to."},
      {"anonymizer_host_mismatch",
       "This request named one site but was going to another site's address, which hides where "
       "you browse."},
      {"anonymizer_fronting",
       "This connection named one site but asked for another, which hides where you browse."},
      {"upstream_certificate",
       "The site's security certificate cannot be trusted, so the school network did not "
       "connect to it."},
      {"policy_default_block",
       "Your school's policy blocks sites that are not explicitly allowed."},
      {"connect_port", "Secure connections are only allowed to standard ports."},
      {"client_not_allowed", "This device's network is not allowed to use the proxy."},
  };
  for (const auto& entry : kWords) {
    if (entry.code == code) {
      return entry.words;
    }
  }
  return {};
}

std::string block_page(const PageContext& context, const filters::Decision& decision,
                       std::string_view host) {
  auto words = explain_reason(decision.reason_code);
  return render(context, "This page is blocked",
                words.empty() ? "Your school's internet policy does not allow this page." : words,
                {{"Site", host},
                 {"Category", decision.category},
                 {"Rule", decision.rule},
                 {"Reason code", decision.reason_code},
                 {"Building", decision.building},
                 {"Role", filters::to_string(decision.role)},
                 {"Request id", context.request_id},
                 {"Time", context.time}});
}

std::string error_page(const PageContext& context, unsigned status, std::string_view reason_code,
                       std::string_view message) {
  auto title = std::to_string(status) + " " +
               std::string(boost::beast::http::obsolete_reason(
                   static_cast<boost::beast::http::status>(status)));
  return render(
      context, title, message,
      {{"Reason code", reason_code}, {"Request id", context.request_id}, {"Time", context.time}});
}

}  // namespace hallpass::act
