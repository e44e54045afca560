// The Sec-WebSocket-Extensions header (RFC 6455 §9.1, RFC 7692 §5): which extensions the
// proxy lets a client and server agree on. Only permessage-deflate is allowed through, because
// the proxy must read every client frame it scans, and it can undo only that transform.
#pragma once

#include <string>
#include <string_view>

namespace hallpass::websocket {

// The client's offer reduced to its permessage-deflate offers, each as the client wrote it,
// in the client's order of preference, joined with ", ". Empty when there is none (the
// header is then not sent at all). Malformed elements are dropped.
std::string offer_we_can_scan(std::string_view client_offer);

// What the server's 101 response agreed to.
struct Negotiated {
  bool deflate = false;                     // permessage-deflate is on: RSV1 marks compression
  bool client_no_context_takeover = false;  // the client resets its compressor per message
  // false when the server agreed to something the proxy cannot read (another extension, two
  // permessage-deflates, an unknown or repeated parameter, a window over 15 bits) or the
  // header is malformed: the caller must not relay that connection.
  bool ok = true;
};
Negotiated parse_accepted(std::string_view server_response);

}  // namespace hallpass::websocket
