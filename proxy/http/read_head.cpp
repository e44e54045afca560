#include "proxy/http/read_head.hpp"

namespace hallpass::http {

std::size_t find_head_end(std::string_view data, std::size_t from) {
  auto pos = data.find("\r\n\r\n", from);
  return pos == std::string_view::npos ? pos : pos + 4;
}

HeadOutcome parse_head(beast::flat_buffer& buffer, std::size_t head_size, RequestParser& parser,
                       const HeadLimits& limits) {
  std::string_view head(static_cast<const char*>(buffer.data().data()), head_size);
  if (auto refusal = prescan_head(head, limits)) {
    return {HeadOutcome::refused, *refusal};
  }
  parser.header_limit(static_cast<std::uint32_t>(limits.max_head_bytes));
  parser.body_limit(boost::none);  // bodies are streamed; Beast's 1 MB default does not apply
  parser.eager(false);
  error_code ec;
  auto used = parser.put(asio::buffer(buffer.data().data(), head_size), ec);
  if (ec || !parser.is_header_done()) {
    return {HeadOutcome::refused, kUnparsable};
  }
  buffer.consume(used);
  return {HeadOutcome::ok, {}};
}

}  // namespace hallpass::http
