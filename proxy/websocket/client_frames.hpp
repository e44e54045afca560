// What a client sends over a WebSocket, read frame by frame (RFC 6455 §5) so the proxy can
// scan each text message before the server sees it. Sans-IO: it is fed the client→server bytes
// in pieces of any size and tells a Visitor what to do with them; the caller owns the sockets.
//
// What the Visitor is told, in stream order:
//   - control frames and binary messages: forward() as they arrive, never held. Binary
//     messages are not scanned, only counted.
//   - a text message: text_begin(); its raw frames (masked, as received) are held while its
//     text (unmasked, inflated when compressed) is handed to text() piece by piece; at its last
//     frame text_end() returns release (the held frames are forwarded) or stop.
//   - a text message whose held frames would pass max_held: over_limit(), once. stop ends there;
//     release forwards what is held, and the rest of the message is forwarded as it arrives
//     (text() still sees it first, and text_end() still comes).
// Control frames between the fragments of a held message go ahead of it: RFC 6455 §5.4 lets
// control frames interleave fragments, and a ping must not wait for a long message.
//
// No byte of a frame is forwarded or held before its header has been checked, so a frame that
// breaks the protocol never reaches the server. After a protocol error, or after the caller
// said stop, there are no more events and feed() only returns the state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "filters/inflater.hpp"

namespace hallpass::websocket {

class ClientFrames {
 public:
  struct Options {
    bool deflate = false;                     // permessage-deflate was agreed (RSV1 = compressed)
    bool client_no_context_takeover = false;  // the client starts each message's window afresh
    std::size_t max_held = 1024 * 1024;       // raw bytes of one text message held
    std::size_t max_inflated = 16 * 1024 * 1024;  // text one compressed message may inflate to
  };

  enum class Verdict : std::uint8_t { release, stop };

  // Called from inside feed(). The views are valid only during the call.
  class Visitor {
   public:
    virtual ~Visitor() = default;
    // Raw bytes for the server, to be sent after everything forwarded before them.
    virtual void forward(std::string_view bytes) = 0;
    // A text message starts: open a scanner stream.
    virtual void text_begin() {}
    // The next piece of the current text message (a UTF-8 character may span two pieces).
    virtual void text(std::string_view piece) = 0;
    // The current text message has ended. After an over-limit release all of it has been
    // forwarded already; a caller that sends only after feed() returns can still drop the tail.
    virtual Verdict text_end() = 0;
    // Holding the current text message would pass max_held.
    virtual Verdict over_limit() = 0;
  };

  enum class State : std::uint8_t { open, stopped, failed };

  explicit ClientFrames(Options options);

  State feed(std::string_view bytes, Visitor& visitor);

  State state() const { return state_; }
  // When failed: what was wrong (e.g. "unmasked client frame"), and the status to close with
  // (1002 protocol error, 1007 compressed data that does not inflate, 1009 inflates too far).
  std::string_view error() const { return error_; }
  std::uint16_t close_code() const { return close_code_; }
  // Payload bytes of binary messages passed through unread.
  std::uint64_t binary_bytes() const { return binary_bytes_; }
  // Raw bytes of the current text message held now.
  std::size_t held() const { return held_.size(); }

 private:
  enum class Message : std::uint8_t { none, text, binary };
  struct Frame {
    std::uint8_t opcode = 0;
    bool fin = false;
    bool rsv1 = false;
    std::array<unsigned char, 4> mask{};
    std::uint64_t length = 0;
    std::uint64_t read = 0;  // payload bytes read so far
    bool control() const { return opcode >= 0x8; }
  };

  std::string_view read_header(std::string_view bytes, Visitor& visitor);
  std::string_view read_payload(std::string_view bytes, Visitor& visitor);
  bool check_start();  // the first two header bytes
  void begin_frame(Visitor& visitor);
  void start_message(Visitor& visitor);
  void end_frame(Visitor& visitor);
  void end_message(Visitor& visitor);
  bool decode(std::string_view raw, Visitor& visitor);
  bool inflate(std::string_view data, Visitor& visitor);
  bool hold(std::string_view raw, Visitor& visitor);
  void fail(std::uint16_t code, std::string_view what);

  Options options_;
  State state_ = State::open;
  std::string_view error_;
  std::uint16_t close_code_ = 0;

  std::array<char, 14> header_{};  // 2 + at most 8 length + 4 mask
  std::size_t header_size_ = 0;
  std::size_t header_needed_ = 2;
  bool in_header_ = true;
  Frame frame_;

  Message message_ = Message::none;
  bool compressed_ = false;  // RSV1 on the message's first frame
  bool inflating_ = false;   // its payload goes through the inflater
  bool streaming_ = false;   // released over limit: forwarded as it arrives
  std::string held_;
  std::string unmasked_;
  std::string text_;
  std::optional<filters::Inflater> inflater_;  // only when deflate was agreed
  std::uint64_t binary_bytes_ = 0;
};

}  // namespace hallpass::websocket
