// A peek at the TLS ClientHello a client sends first inside a CONNECT tunnel, so the policy
// can see the server name and ALPN before any byte is relayed or intercepted. Pure: no I/O,
// no OpenSSL, nothing consumed. The caller keeps reading into one buffer and calls
// `peek_client_hello` on the whole prefix until the answer is not `need_more`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hallpass::tls {

struct ClientHello {
  std::string server_name;  // SNI host_name, lower-cased, trailing dot removed; empty when absent
  std::vector<std::string> alpn;        // protocol names in the client's order
  bool encrypted_client_hello = false;  // extension 0xfe0d present (ECH)
  std::uint16_t legacy_version = 0;     // client_version field of the hello
};

enum class PeekStatus { need_more, client_hello, not_tls, malformed };

struct Peek {
  PeekStatus status = PeekStatus::need_more;
  ClientHello hello;        // filled when status == client_hello
  std::string_view detail;  // static text for not_tls/malformed, e.g. "record type 0x16 expected"
};

// More than this many bytes without a complete hello is malformed: a real ClientHello, even
// with post-quantum key shares, is a few kilobytes.
inline constexpr std::size_t kMaxClientHelloBytes = 65536;

// `bytes`: everything the client has sent so far, from its first byte. Never throws; any
// input is safe (the parser is fuzzed).
Peek peek_client_hello(std::span<const std::uint8_t> bytes);

}  // namespace hallpass::tls
