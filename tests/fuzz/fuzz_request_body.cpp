// A request body is framed by bytes the client chooses, and the proxy relays it piece by
// piece through a fixed buffer with its own read_body_piece; a chunk-size or a boundary
// that the proxy reads differently from the origin is request smuggling. This drives a
// whole client connection without sockets: one of a few real heads, its body read the way
// forward() reads it, then whatever follows parsed as the next pipelined request (the
// session's loop), everything arriving in pieces of a size the fuzzer picks.
//
// Input: byte 0 picks the head, byte 1 the read size, byte 2 the relay buffer size, byte 3
// the Content-Length; the rest is what the client sends after the head.
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/act/relay.hpp"
#include "proxy/http/read_head.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/http_checks.hpp"
#include "tests/fuzz/piece_stream.hpp"

namespace {

using namespace hallpass;

constexpr http::HeadLimits kLimits{};
constexpr std::size_t kMaxRequests = 4;

std::string head_for(std::uint8_t kind, std::uint8_t length) {
  switch (kind % 3) {
    case 0:
      return "POST http://example.test/upload HTTP/1.1\r\nHost: example.test\r\n"
             "Transfer-Encoding: chunked\r\n\r\n";
    case 1:  // HTTP/1.0 kept alive by request (with Transfer-Encoding it is refused: §6.1)
      return "PUT http://example.test/doc HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: " +
             std::to_string(length) + "\r\n\r\n";
    default:
      return "POST http://example.test/form HTTP/1.1\r\nHost: example.test\r\nContent-Length: " +
             std::to_string(length) + "\r\n\r\n";
  }
}

std::size_t piece_size(std::uint8_t code) {
  return code < 128 ? code + 1u : (code - 127u) * 512u;
}

// Reads one body the way forward() does; false when its framing is refused.
awaitable<bool> read_body(fuzz::PieceStream& stream, beast::flat_buffer& buffer,
                          RequestParser& parser, std::span<char> relay, std::size_t input_size) {
  auto framing_length = parser.content_length();
  bool chunked = parser.chunked();
  auto read_before = stream.bytes_read() - buffer.size();
  std::uint64_t body = 0;
  // Each read either fills the relay buffer, consumes input or fails: a loop that does none
  // of those would hang the connection.
  for (std::size_t rounds = 0; !parser.is_done(); ++rounds) {
    FUZZ_CHECK(rounds <= 2 * input_size + 8);
    auto [ec, n] =
        co_await act::read_body_piece(stream, buffer, parser, relay, std::chrono::seconds(60));
    if (ec) {
      co_return false;
    }
    FUZZ_CHECK(n <= relay.size());
    body += n;
  }
  auto consumed = stream.bytes_read() - buffer.size() - read_before;
  if (chunked) {
    FUZZ_CHECK(body + 5 <= consumed);  // the last chunk's "0\r\n\r\n" at least is framing
  } else {
    FUZZ_CHECK(body == framing_length.value_or(0) && consumed == body);
  }
  co_return true;
}

awaitable<void> serve(fuzz::PieceStream& stream, std::string_view input, std::span<char> relay) {
  beast::flat_buffer buffer;
  for (std::size_t i = 0; i < kMaxRequests; ++i) {
    RequestParser parser;
    auto start = stream.bytes_read() - buffer.size();
    auto head = co_await http::read_head(stream, buffer, parser, kLimits, fuzz::kDeadlines);
    if (i == 0) {
      FUZZ_CHECK(head.kind == http::HeadOutcome::ok);  // the chosen head is a valid one
    }
    if (head.kind != http::HeadOutcome::ok) {
      co_return;
    }
    auto consumed = stream.bytes_read() - buffer.size() - start;
    fuzz::check_framing(input.substr(start, consumed), parser);
    fuzz::check_request_target(parser);
    if (!co_await read_body(stream, buffer, parser, relay, input.size())) {
      co_return;
    }
    if (!parser.keep_alive()) {
      co_return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) {
    return 0;
  }
  std::string input = head_for(data[0], data[3]);
  input.append(reinterpret_cast<const char*>(data + 4), size - 4);
  std::vector<char> relay(data[2] == 0 ? 128 * 1024 : data[2]);

  asio::io_context io;
  fuzz::PieceStream stream(io.get_executor(), input, piece_size(data[1]));
  bool finished = false;
  asio::co_spawn(io, serve(stream, input, relay), [&](std::exception_ptr error) {
    FUZZ_CHECK(!error);
    finished = true;
  });
  io.run();
  FUZZ_CHECK(finished);
  return 0;
}
