// `hallpass check`: the verdict the proxy would give, from the same decide().
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>

#include "filters/host.hpp"
#include "proxy/cli/commands.hpp"
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
  bool body_given = false;
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
      out.body_given = true;
      ++i;
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

}  // namespace

int check_command(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: hallpass check [--config FILE] --client IP [--method M]\n"
                 "                      [--content-type T] [--at \"mon 10:30\"] [--explain] URL\n"
                 "Print the proxy's verdict for one request as JSON. URL may be host:port\n"
                 "with --method CONNECT; an https:// URL is judged as the request it would\n"
                 "carry inside the tunnel. --explain adds the precedence steps tried, in\n"
                 "plain words; --at judges at that local day and time (schedules).\n"
                 "Exit status 0 for every verdict.\n";
    return 0;
  }
  auto parsed = parse(args);
  if (!parsed) {
    return 2;
  }
  if (parsed->body_given) {
    std::cerr << "hallpass check: --body-file: content scanning is not part of this build yet\n";
    return 2;
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
    std::string out = "{";
    record::append_json_field(out, "action", filters::to_string(decision.action));
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
    record::append_json_key(out, "flags");
    out += "[]}";
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
