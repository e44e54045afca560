// Closing a client connection whose request body was not read to its end.
#pragma once

#include "proxy/http/beast.hpp"

namespace hallpass::session {

// Closing a socket with unread input makes the kernel answer with a reset, and a client still
// sending its body (an upload the upstream broke off, a body refused half way) may then lose
// the page already written to it. So, as RFC 9112 §9.6 describes: close the sending side
// first, then read and drop what the client still sends until it closes, goes quiet for a
// second, or five seconds have passed. A connection already set to close with a reset is
// left to it.
awaitable<void> tear_down(beast::tcp_stream& stream);

}  // namespace hallpass::session
