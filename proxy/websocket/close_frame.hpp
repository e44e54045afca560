// The close frame the proxy sends when it ends a WebSocket connection itself (RFC 6455 §5.5.1):
// to the client unmasked, as a server would, and to the server masked, as a client must.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hallpass::websocket {

// RFC 6455 §7.4.1 status codes the proxy sends.
namespace close_status {
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t invalid_data = 1007;  // e.g. compressed data that does not inflate
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t too_big = 1009;
}  // namespace close_status

// A control frame's payload is at most 125 bytes, 2 of them the code: the reason is cut to
// 123 bytes, at a UTF-8 character boundary so the peer does not fail it as invalid text.
inline constexpr std::size_t kMaxCloseReason = 123;

// A whole close frame for the client: FIN, opcode 8, no mask.
std::string close_frame_to_client(std::uint16_t code, std::string_view reason);
// A whole close frame for the server, masked with a fresh random key.
std::string close_frame_to_server(std::uint16_t code, std::string_view reason);

}  // namespace hallpass::websocket
