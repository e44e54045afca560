// A streaming zlib inflater for compressed request bodies (Content-Encoding: gzip, deflate)
// and compressed WebSocket messages (permessage-deflate): fed piece by piece, it never needs a
// whole body, and it stops at an output budget so a small bomb cannot grow without bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hallpass::filters {

class Inflater {
 public:
  enum class Format : std::uint8_t {
    gzip,
    deflate,  // zlib-wrapped (RFC 9110 says so); raw DEFLATE when there is no zlib header
    raw,
  };
  enum class Status : std::uint8_t { ok, corrupt, too_large };

  // `max_output`: how many bytes it produces before reporting too_large.
  Inflater(Format format, std::size_t max_output);
  ~Inflater();
  Inflater(Inflater&&) noexcept;
  Inflater& operator=(Inflater&&) noexcept;

  // Appends what `input` inflates to. After corrupt or too_large it stays so and appends
  // nothing more.
  Status feed(std::string_view input, std::string& out);
  // A fresh stream and a fresh output budget.
  void reset();
  // A fresh output budget on the same stream: a WebSocket connection with context takeover
  // keeps its window across messages, but each message has its own limit.
  void reset_budget() { produced_ = 0; }
  Status status() const { return status_; }
  // The compressed stream reached its end; a body that stops before is truncated.
  bool ended() const { return ended_; }

 private:
  struct Stream;
  void open(int window_bits);

  Format format_;
  std::size_t max_output_;
  std::size_t produced_ = 0;
  Status status_ = Status::ok;
  bool header_checked_ = false;  // deflate: whether the first bytes told zlib from raw
  std::string first_byte_;       // deflate: a first piece of one byte, until the second
  bool ended_ = false;           // the compressed stream ended; later bytes are ignored
  std::unique_ptr<Stream> stream_;
};

// The Inflater format a Content-Encoding names; nullopt-like `known == false` for codings
// we cannot read (br, zstd, several codings stacked).
struct ContentCoding {
  bool known = true;
  bool compressed = false;
  Inflater::Format format = Inflater::Format::gzip;
};
ContentCoding content_coding(std::string_view content_encoding);

}  // namespace hallpass::filters
