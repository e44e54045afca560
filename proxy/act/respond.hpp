// Writes a complete small response that Hallpass itself produces (block and error pages).
#pragma once

#include <string>

#include "proxy/http/beast.hpp"

namespace hallpass::act {

bhttp::response<bhttp::string_body> page_response(unsigned status, std::string html,
                                                  bool keep_alive, unsigned version);

template <typename Stream>
awaitable<bool> write_page(Stream& stream, unsigned status, std::string html, bool keep_alive,
                           unsigned version, std::chrono::steady_clock::duration deadline) {
  auto response = page_response(status, std::move(html), keep_alive, version);
  beast::get_lowest_layer(stream).expires_after(deadline);
  auto [ec, n] = co_await bhttp::async_write(stream, response, use_tuple);
  co_return !ec;
}

}  // namespace hallpass::act
