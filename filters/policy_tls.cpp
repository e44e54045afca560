// Decisions on what a tunnel's first bytes say, and which tunnels are decrypted.
#include "filters/policy.hpp"
#include "filters/registrable_domain.hpp"

namespace hallpass::filters {

const Policy::Profile& Policy::profile_for(const Client& client) const {
  const Building& building = buildings_[client.building];
  return profiles_[building.profile_for_role[static_cast<int>(client.role)]];
}

namespace {

Decision tunnel_block(const Client& client, std::string_view building, std::string_view category,
                      std::string_view rule, std::string_view reason) {
  Decision decision;
  decision.action = Action::block;
  decision.step = Step::anonymizer;
  decision.category = category;
  decision.rule = rule;
  decision.reason_code = reason;
  decision.building = building;
  decision.role = client.role;
  return decision;
}

}  // namespace

Decision Policy::host_mismatch(const Client& client) const {
  std::string_view category = anonymizer_ ? std::string_view(categories_[*anonymizer_]) : "";
  return tunnel_block(client, buildings_[client.building].name, category, "host-mismatch",
                      "anonymizer_host_mismatch");
}

Decision Policy::decide_tunnel(const Client& client, const Request& connect,
                               const TunnelHello& hello, Trace* trace) const {
  const Building& building = buildings_[client.building];
  auto note = [&](std::string text) {
    if (trace != nullptr) {
      trace->steps.emplace_back(Step::anonymizer, std::move(text));
    }
  };
  std::string_view category = anonymizer_ ? std::string_view(categories_[*anonymizer_]) : "";
  bool excepted = !building.allow.find(connect.host).empty();
  if (!hello.is_tls && !excepted) {
    note("the tunnel does not start with a TLS ClientHello (SSH, VPN or a raw tunnel)");
    return tunnel_block(client, building.name, category, "not-tls", "anonymizer_not_tls");
  }
  if (!hello.is_tls) {
    return decide(client, connect, trace);
  }
  bool nameless = hello.server_name.empty() || IpAddress::parse(hello.server_name).has_value();
  if (nameless) {
    if (profile_for(client).tls.no_sni == Action::block && !excepted) {
      note("the TLS ClientHello names no server (or an IP address)");
      return tunnel_block(client, building.name, category, "no-sni", "anonymizer_no_sni");
    }
    return decide(client, connect, trace);
  }
  // Domain fronting: the tunnel was asked for one site and TLS names another. Browsers
  // never do this, so no exception outranks it.
  if (!IpAddress::parse(connect.host) && !same_site(hello.server_name, connect.host)) {
    note("the TLS server name " + std::string(hello.server_name) + " is another site than " +
         std::string(connect.host) + " (domain fronting)");
    return tunnel_block(client, building.name, category, "domain-fronting", "anonymizer_fronting");
  }
  Request named = connect;
  named.host = hello.server_name;
  return decide(client, named, trace);
}

TlsPlan Policy::tls_plan(const Client& client, std::string_view host) const {
  const Profile& profile = profile_for(client);
  TlsPlan plan{false, profile.tls};
  if (!never_inspect_.find(host).empty()) {
    return plan;
  }
  if (!profile.inspect_domains.find(host).empty() ||
      (profile.inspect_social_functions && functions_.covers(host))) {
    plan.inspect = true;
    return plan;
  }
  lists_.for_each_match(host, [&](std::string_view, auto ids) {
    for (CategoryId id : ids) {
      if (id < profile.inspect_category.size() && profile.inspect_category[id]) {
        plan.inspect = true;
        return false;
      }
    }
    return true;
  });
  return plan;
}

}  // namespace hallpass::filters
