#include "proxy/websocket/close_frame.hpp"

#include <openssl/rand.h>

#include <array>

namespace hallpass::websocket {

namespace {

// The longest prefix of `reason` within the limit that does not end inside a character.
std::string_view cut_reason(std::string_view reason) {
  if (reason.size() <= kMaxCloseReason) {
    return reason;
  }
  std::size_t end = kMaxCloseReason;
  // A continuation byte (10xxxxxx) at the cut belongs to the character before it.
  while (end > 0 && (static_cast<unsigned char>(reason[end]) & 0xC0) == 0x80) {
    --end;
  }
  return reason.substr(0, end);
}

std::string close_frame(std::uint16_t code, std::string_view reason, bool masked) {
  reason = cut_reason(reason);
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload += reason;

  std::string frame;
  frame += static_cast<char>(0x88);  // FIN, close
  frame += static_cast<char>((masked ? 0x80 : 0x00) | payload.size());
  if (!masked) {
    return frame + payload;
  }
  std::array<unsigned char, 4> key{};
  // RFC 6455 §10.3: the key only has to be unpredictable to script in a browser; if the
  // generator fails, a zero key still makes a valid frame.
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    key = {};
  }
  frame.append(reinterpret_cast<const char*>(key.data()), key.size());
  for (std::size_t i = 0; i < payload.size(); ++i) {
    frame += static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i % 4]);
  }
  return frame;
}

}  // namespace

std::string close_frame_to_client(std::uint16_t code, std::string_view reason) {
  return close_frame(code, reason, false);
}

std::string close_frame_to_server(std::uint16_t code, std::string_view reason) {
  return close_frame(code, reason, true);
}

}  // namespace hallpass::websocket
