#include "proxy/act/headers.hpp"

#include <boost/beast/http/rfc7230.hpp>

#include <vector>

namespace hallpass::act {

void strip_hop_by_hop(bhttp::fields& fields) {
  std::vector<std::string> named;
  for (auto it = fields.find(bhttp::field::connection);
       it != fields.end() && it->name() == bhttp::field::connection; ++it) {
    for (auto token : bhttp::token_list(it->value())) {
      named.emplace_back(token);
    }
  }
  for (const auto& name : named) {
    if (!beast::iequals(name, "transfer-encoding")) {
      fields.erase(name);
    }
  }
  for (auto field : {bhttp::field::connection, bhttp::field::keep_alive,
                     bhttp::field::proxy_connection, bhttp::field::proxy_authorization,
                     bhttp::field::te, bhttp::field::trailer, bhttp::field::upgrade}) {
    fields.erase(field);
  }
}

void prepare_upstream_request(bhttp::request<bhttp::buffer_body>& request,
                              const http::Target& target) {
  strip_hop_by_hop(request);
  if (expects_continue(request)) {
    request.erase(bhttp::field::expect);  // answered by the proxy itself
  }
  request.target(target.path);
  request.set(bhttp::field::host, target.authority);
  request.insert(bhttp::field::via, kVia);
  request.version(11);
}

void prepare_client_response(bhttp::response<bhttp::buffer_body>& response, unsigned client_version,
                             bool keep_alive) {
  strip_hop_by_hop(response);
  response.insert(bhttp::field::via, kVia);
  if (client_version < 11) {
    response.version(10);
    if (response.chunked()) {
      response.chunked(false);
      keep_alive = false;
    }
  } else {
    response.version(11);
  }
  response.keep_alive(keep_alive);
}

bool expects_continue(const bhttp::fields& fields) {
  auto it = fields.find(bhttp::field::expect);
  return it != fields.end() && beast::iequals(it->value(), "100-continue");
}

}  // namespace hallpass::act

namespace hallpass::act {

void apply_enforcement(bhttp::fields& fields, const filters::Enforcement& enforcement) {
  for (auto name : filters::kEnforcementHeaders) {
    fields.erase(name);
  }
  for (const auto& header : enforcement.headers) {
    fields.set(header.name, header.value);
  }
}

}  // namespace hallpass::act
