// What happened to one request, handed to the recorder once it is over. Views point into
// the session's own storage and the pinned policy, both alive until record() returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "filters/content_types.hpp"
#include "filters/types.hpp"

namespace hallpass::record {

struct Outcome {
  std::string_view request_id;
  std::chrono::system_clock::time_point time;
  std::string_view client;
  std::string_view user;  // proxy-authentication user name, when one signed in
  std::string_view mode = "explicit";
  std::string_view method;
  std::string_view host;
  std::uint16_t port = 0;
  std::string_view path;  // without the query: queries may carry personal data
  filters::Decision decision;
  unsigned status = 0;
  std::uint64_t bytes_from_client = 0;
  // Whether a request body was read by the content scanner or only counted (binary types,
  // no pattern sets); none for requests without one and for tunnels.
  enum class Body : std::uint8_t { none, scanned, not_scanned } body = Body::none;
  std::uint64_t bytes_to_client = 0;
  std::string_view upstream_error;      // cause code when the upstream failed
  std::string_view enforced_via;        // SafeSearch host a tunnel was sent to instead
  std::string_view redirect_to;         // landing host of a redirect that was blocked
  std::string_view server_name;         // a tunnel's TLS server name (SNI), when it sent one
  std::string_view tls;                 // a tunnel's fate: "splice", "intercept", "block_page"
  std::string_view inspect_failure;     // why decrypting an inspected tunnel failed
  bool encrypted_client_hello = false;  // the ClientHello offered ECH (its real name is hidden)
  std::span<const filters::ContentFlag> flags;  // content patterns the request matched
  std::string_view content_category;            // the content category that acted, if any
  std::string_view content_snippet;             // masked words before its deciding match
  std::uint64_t content_offset = 0;             // where that match ended in the decoded text
  std::string_view content_unjudged;  // why the body could not be judged whole, if it could not
  // WebSocket: on a message's own line, its number on the connection; on the upgrade's line,
  // how many text messages the client sent and the close code the proxy ended it with.
  std::uint64_t websocket_message = 0;
  std::uint64_t websocket_messages = 0;
  std::uint16_t websocket_close = 0;
  double duration_seconds = 0;
};

}  // namespace hallpass::record
