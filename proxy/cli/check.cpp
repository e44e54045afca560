// `hallpass check`: the verdict the proxy would give, from the same decide().
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>

#include "filters/body_decoder.hpp"
#include "filters/host.hpp"
#include "proxy/cli/commands.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"
#include "proxy/http/target.hpp"
#include "proxy/record/json.hpp"
#include "proxy/session/local_time.hpp"

namespace hallpass::cli {

namespace {

struct CheckArgs {
  std::string client;
  std::string method = "GET";
  std::string url;
  std::string content_type;
  std::string body_file;
  bool explain = false;
  std::string at;  // "mon 10:30"; empty: now
};

// "mon 10:30" → the LocalTime schedules see; nullopt when malformed.
std::optional<filters::LocalTime> parse_at(const std::string& text) {
  static constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  char day[4] = {};
  unsigned hours = 0;
  unsigned minutes = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%3s %2u:%2u%n", day, &hours, &minutes, &consumed) != 3 ||
      consumed != static_cast<int>(text.size()) || hours > 23 || minutes > 59) {
    return std::nullopt;
  }
  auto it = std::find(std::begin(kDays), std::end(kDays), std::string_view(day));
  if (it == std::end(kDays)) {
    return std::nullopt;
  }
  return filters::LocalTime{static_cast<std::int8_t>(it - std::begin(kDays)),
                            static_cast<std::int16_t>(hours * 60 + minutes)};
}

std::optional<CheckArgs> parse(const Args& args) {
  CheckArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    bool has_value = i + 1 < args.size();
    if (arg == "--config" && has_value) {
      ++i;
    } else if (arg == "--client" && has_value) {
      out.client = args[++i];
    } else if (arg == "--method" && has_value) {
      out.method = args[++i];
    } else if (arg == "--body-file" && has_value) {
      out.body_file = args[++i];
    } else if (arg == "--content-type" && has_value) {
      out.content_type = args[++i];
    } else if (arg == "--at" && has_value) {
      out.at = args[++i];
    } else if (arg == "--explain") {
      out.explain = true;
    } else if (!arg.starts_with("--") && out.url.empty()) {
      out.url = arg;
    } else {
      std::cerr << "hallpass check: unexpected argument \"" << arg << "\"\n";
      return std::nullopt;
    }
  }
  if (out.client.empty() || out.url.empty()) {
    std::cerr << "hallpass check: --client IP and a URL are required\n";
    return std::nullopt;
  }
  return out;
}

// https:// URLs are judged as the request they would carry; the port follows the scheme.
std::optional<http::Target> target_of(const CheckArgs& args) {
  if (args.method == "CONNECT") {
    return http::parse_connect_target(args.url).target;
  }
  if (args.url.starts_with("https://")) {
    auto target = http::parse_absolute_target("http://" + args.url.substr(8)).target;
    if (target && target->authority.find(':') == std::string::npos) {
      target->port = 443;
    }
    return target;
  }
  return http::parse_absolute_target(args.url).target;
}

// The query string (form-decoded) and the body (decoded by its type) in one scan, as the
// proxy scans a request.
filters::ContentVerdict scan_content(const filters::Policy& policy, const filters::Client& client,
                                     std::string_view path, std::string_view content_type,
                                     const std::optional<std::string>& body) {
  filters::ContentScanner::Scan scan(policy.content_scanner());
  std::string text;
  if (auto question = path.find('?'); question != std::string_view::npos) {
    filters::BodyDecoder query(filters::BodyDecoder::Kind::form);
    query.feed(path.substr(question + 1), text);
    query.finish(text);
    text += '\n';
  }
  if (body) {
    auto decoder = filters::BodyDecoder::for_content_type(content_type);
    decoder.feed(*body, text);
    decoder.finish(text);
  }
  scan.feed(text);
  scan.finish();
  return policy.content_verdict(client, scan);
}

// The contract's action words: block and allow from the decision, alert or flag when
// content decided without blocking.
std::string_view action_text(const filters::Decision& decision) {
  if (decision.action == filters::Action::block) {
    return "block";
  }
  if (decision.step == filters::Step::content) {
    return decision.alert ? "alert" : "flag";
  }
  return "allow";
}

void append_flags(std::string& out, const std::vector<filters::ContentFlag>& flags) {
  out += '[';
  for (std::size_t i = 0; i < flags.size(); ++i) {
    out += i == 0 ? "{" : ",{";
    record::append_json_field(out, "category", flags[i].category);
    record::append_json_field(out, "pattern", flags[i].pattern);
    record::append_json_field(out, "severity", filters::to_string(flags[i].severity));
    out += '}';
  }
  out += ']';
}

}  // namespace

int check_command(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: hallpass check [--config FILE] --client IP [--method M]\n"
                 "                      [--content-type T] [--body-file F] [--at \"mon 10:30\"]\n"
                 "                      [--explain] URL\n"
                 "Print the proxy's verdict for one request as JSON. URL may be host:port\n"
                 "with --method CONNECT; an https:// URL is judged as the request it would\n"
                 "carry inside the tunnel. --explain adds the precedence steps tried, in\n"
                 "plain words; --at judges at that local day and time (schedules).\n"
                 "--body-file scans a request body (decoded by --content-type) with the\n"
                 "content pattern sets; the query string is always scanned.\n"
                 "Exit status 0 for every verdict.\n";
    return 0;
  }
  auto parsed = parse(args);
  if (!parsed) {
    return 2;
  }
  std::optional<std::string> body;
  if (!parsed->body_file.empty()) {
    body = config::read_file(parsed->body_file);
    if (!body) {
      std::cerr << "hallpass check: cannot read " << parsed->body_file << "\n";
      return 2;
    }
  }
  auto when = parsed->at.empty() ? session::local_time_now() : parse_at(parsed->at);
  if (!when) {
    std::cerr << "hallpass check: --at wants a day and a time, like \"mon 10:30\"\n";
    return 2;
  }
  auto address = filters::IpAddress::parse(parsed->client);
  auto target = target_of(*parsed);
  if (!address || !target) {
    std::cerr << "hallpass check: " << (!address ? "--client is not an IP address" : "bad URL")
              << "\n";
    return 2;
  }
  try {
    auto policy = config::build_policy(config::load_config(config_path(args)));
    auto client = policy->identify(*address);
    filters::Request request{parsed->method,       target->host, target->port, target->path,
                             parsed->content_type, {},           *when};
    filters::Trace trace;
    auto decision = policy->decide(client, request, parsed->explain ? &trace : nullptr);
    auto verdict = scan_content(*policy, client, target->path, parsed->content_type, body);
    decision = filters::Policy::with_content(decision, verdict);
    std::string out = "{";
    record::append_json_field(out, "action", action_text(decision));
    record::append_json_field(out, "category", decision.category);
    record::append_json_field(out, "rule", decision.rule);
    record::append_json_field(out, "building", decision.building);
    record::append_json_field(out, "role", filters::to_string(decision.role));
    record::append_json_field(out, "reason", decision.reason_code);
    record::append_json_field(out, "step", filters::to_string(decision.step));
    record::append_json_field(out, "schedule", decision.schedule);
    record::append_json_key(out, "would_block");
    out += decision.would_block ? "true" : "false";
    record::append_json_key(out, "client_allowed");
    out += policy->client_allowed(*address) ? "true" : "false";
    record::append_json_key(out, "alert");
    out += decision.alert ? "true" : "false";
    record::append_json_key(out, "flags");
    append_flags(out, verdict.flags);
    if (!verdict.snippet.empty()) {
      record::append_json_field(out, "snippet", verdict.snippet);
    }
    out += "}";
    std::cout << out << "\n";
    for (const auto& [step, words] : trace.steps) {
      std::cout << "  " << filters::to_string(step) << ": " << words << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "hallpass: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace hallpass::cli
