// The ClientHello parser reads the first bytes of every CONNECT tunnel, before any policy,
// and the SNI it returns is what the policy judges. The caller calls it again on a longer
// prefix while the answer is need_more, so an answer given early must not change when more
// bytes arrive; and TLS lets a client spread one hello over many records (RFC 8446 §5.1),
// so the same hello re-framed must give the same answer.
//
// Input: byte 0 picks where the first look stops and the record size of the re-framing;
// the rest is what the client sends.
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "proxy/tls/client_hello.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace hallpass;
using Bytes = std::span<const std::uint8_t>;

bool same_hello(const tls::ClientHello& a, const tls::ClientHello& b) {
  return a.server_name == b.server_name && a.alpn == b.alpn &&
         a.encrypted_client_hello == b.encrypted_client_hello &&
         a.legacy_version == b.legacy_version;
}

bool same_peek(const tls::Peek& a, const tls::Peek& b) {
  return a.status == b.status && a.detail == b.detail && same_hello(a.hello, b.hello);
}

void check_hello(const tls::ClientHello& hello) {
  const auto& name = hello.server_name;
  FUZZ_CHECK(name.size() <= 254);
  FUZZ_CHECK(name.empty() || name.back() != '.');
  FUZZ_CHECK(std::none_of(name.begin(), name.end(), [](char c) {
    auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7f || (b >= 'A' && b <= 'Z');
  }));
  for (const auto& protocol : hello.alpn) {
    FUZZ_CHECK(!protocol.empty() && protocol.size() <= 255);
  }
}

// The handshake message carried by the records at the front of `bytes` (already known to
// hold a whole ClientHello).
std::vector<std::uint8_t> handshake_message(Bytes bytes) {
  std::vector<std::uint8_t> message;
  std::size_t size = 0;
  while (size == 0 || message.size() < size) {
    std::size_t length = std::size_t{bytes[3]} << 8 | bytes[4];
    message.insert(message.end(), bytes.begin() + 5, bytes.begin() + 5 + length);
    bytes = bytes.subspan(5 + length);
    if (size == 0 && message.size() >= 4) {
      size = 4 + (std::size_t{message[1]} << 16 | std::size_t{message[2]} << 8 | message[3]);
    }
  }
  return message;
}

std::vector<std::uint8_t> reframe(const std::vector<std::uint8_t>& message, std::size_t record) {
  std::vector<std::uint8_t> out;
  for (std::size_t at = 0; at < message.size(); at += record) {
    auto length = std::min(record, message.size() - at);
    out.insert(out.end(), {22, 3, 1, static_cast<std::uint8_t>(length >> 8),
                           static_cast<std::uint8_t>(length)});
    out.insert(out.end(), message.begin() + static_cast<std::ptrdiff_t>(at),
               message.begin() + static_cast<std::ptrdiff_t>(at + length));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  Bytes bytes(data + 1, size - 1);
  auto full = tls::peek_client_hello(bytes);
  FUZZ_CHECK(full.detail.empty() == (full.status == tls::PeekStatus::need_more ||
                                     full.status == tls::PeekStatus::client_hello));
  auto prefix = tls::peek_client_hello(bytes.first(bytes.size() * data[0] / 256));
  if (prefix.status != tls::PeekStatus::need_more) {
    FUZZ_CHECK(same_peek(prefix, full));
  }
  if (full.status != tls::PeekStatus::client_hello) {
    return 0;
  }
  check_hello(full.hello);
  auto again = reframe(handshake_message(bytes), 1 + data[0] % 97);
  if (again.size() <= tls::kMaxClientHelloBytes) {  // tiny records add 5 bytes each
    FUZZ_CHECK(same_peek(tls::peek_client_hello(again), full));
  }
  return 0;
}
