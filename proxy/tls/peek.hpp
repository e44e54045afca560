// Reads a tunnel's first bytes until they tell a TLS ClientHello from anything else,
// without consuming them: they stay in the buffer for the splice or the TLS handshake.
#pragma once

#include <chrono>

#include "proxy/http/beast.hpp"
#include "proxy/tls/client_hello.hpp"

namespace hallpass::tls {

struct FirstBytes {
  enum Kind {
    hello,    // a complete ClientHello
    not_tls,  // bytes that are not TLS (or a broken ClientHello)
    silent,   // nothing arrived before the deadline: the client waits for the server
    closed,   // the client went away
  } kind = closed;
  ClientHello client_hello;
  std::string_view detail;  // why the bytes are not TLS, for the log
};

// `buffer` may already hold bytes sent right behind the CONNECT head.
awaitable<FirstBytes> read_first_bytes(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                       std::chrono::steady_clock::duration wait);

}  // namespace hallpass::tls
