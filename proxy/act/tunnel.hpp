// CONNECT tunnels: bytes spliced both ways until both sides finish or the tunnel sits
// idle past its deadline.
#pragma once

#include <cstdint>

#include "proxy/http/beast.hpp"

namespace hallpass::act {

struct TunnelBytes {
  std::uint64_t from_client = 0;
  std::uint64_t to_client = 0;
};

// `early` holds bytes the client sent right behind its CONNECT head; they go first.
awaitable<TunnelBytes> splice(beast::tcp_stream& client, beast::flat_buffer& early,
                              beast::tcp_stream& upstream,
                              std::chrono::steady_clock::duration idle);

}  // namespace hallpass::act
