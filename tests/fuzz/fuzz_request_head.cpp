// The request head is the first thing any client on the district network controls, and
// the prescan exists because Beast alone lets two parsers disagree about framing
// (smuggling). So this drives the proxy's own read_head over an in-memory stream, in
// pieces, under tight and default limits, and checks that an accepted head is framed the
// way the prescan read it and that its target parses into a normalized host.
//
// Input: byte 0 picks the read size, byte 1 the limits, the rest is what the client sends.
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>

#include "proxy/http/read_head.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/http_checks.hpp"
#include "tests/fuzz/piece_stream.hpp"

namespace {

using namespace hallpass;

// The config's defaults first; the others reach every limit with short inputs.
constexpr http::HeadLimits kLimits[] = {
    {65536, 100, 16384}, {1024, 8, 256}, {200, 3, 64}, {64, 1, 32}};

std::size_t piece_size(std::uint8_t code) {
  return code < 128 ? code + 1u : (code - 127u) * 512u;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const auto& limits = kLimits[data[1] % std::size(kLimits)];
  std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);

  asio::io_context io;
  fuzz::PieceStream stream(io.get_executor(), bytes, piece_size(data[0]));
  beast::flat_buffer buffer;
  RequestParser parser;
  std::optional<http::HeadOutcome> outcome;
  asio::co_spawn(io, http::read_head(stream, buffer, parser, limits, fuzz::kDeadlines),
                 [&](std::exception_ptr error, http::HeadOutcome result) {
                   FUZZ_CHECK(!error);
                   outcome = result;
                 });
  io.run();
  FUZZ_CHECK(outcome.has_value());

  auto end = bytes.find("\r\n\r\n");
  bool complete = end != std::string_view::npos && end + 4 <= limits.max_head_bytes;
  switch (outcome->kind) {
    case http::HeadOutcome::closed:
      FUZZ_CHECK(!complete && bytes.size() < limits.max_head_bytes);
      return 0;
    case http::HeadOutcome::refused:
      FUZZ_CHECK(outcome->refusal.status == 400 || outcome->refusal.status == 414 ||
                 outcome->refusal.status == 431);
      FUZZ_CHECK(!outcome->refusal.reason_code.empty());
      return 0;
    case http::HeadOutcome::ok:
      break;
  }
  FUZZ_CHECK(complete);
  auto head = bytes.substr(0, end + 4);
  FUZZ_CHECK(!http::prescan_head(head, limits));
  // Exactly the head was consumed: what stays in the buffer is the body, or the next request.
  FUZZ_CHECK(buffer.size() == stream.bytes_read() - head.size());
  FUZZ_CHECK(std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()) ==
             bytes.substr(head.size(), buffer.size()));
  fuzz::check_framing(head, parser);
  fuzz::check_request_target(parser);
  return 0;
}
