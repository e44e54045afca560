#include "proxy/act/respond.hpp"

#include "proxy/act/headers.hpp"

namespace hallpass::act {

bhttp::response<bhttp::string_body> page_response(unsigned status, std::string html,
                                                  bool keep_alive, unsigned version) {
  bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(status),
                                               version < 11 ? 10u : 11u};
  response.set(bhttp::field::content_type, "text/html; charset=utf-8");
  response.set(bhttp::field::cache_control, "no-store");
  response.set(bhttp::field::server, "hallpass");
  response.set(bhttp::field::via, kVia);
  response.body() = std::move(html);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

}  // namespace hallpass::act
