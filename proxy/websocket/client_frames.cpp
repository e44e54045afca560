#include "proxy/websocket/client_frames.hpp"

#include <algorithm>

#include "proxy/websocket/close_frame.hpp"

namespace hallpass::websocket {

namespace {

constexpr std::uint8_t kContinuation = 0x0;
constexpr std::uint8_t kText = 0x1;
constexpr std::uint8_t kBinary = 0x2;

// RFC 7692 §7.2.2: the sender strips the empty stored block that ends its sync flush; the
// receiver puts it back before inflating the message's end.
constexpr std::string_view kDeflateTail("\x00\x00\xff\xff", 4);

// Compressed input is inflated this much at a time, so one piece of text is at most about a
// megabyte (DEFLATE expands at most ~1032:1) however large the frame.
constexpr std::size_t kInflateSlice = 1024;

// Buffers that grew past this for one big message are given back when it ends.
constexpr std::size_t kKeepCapacity = 64 * 1024;

void shrink(std::string& buffer) {
  buffer.clear();
  if (buffer.capacity() > kKeepCapacity) {
    std::string().swap(buffer);
  }
}

}  // namespace

ClientFrames::ClientFrames(Options options) : options_(options) {
  if (options_.deflate) {
    inflater_.emplace(filters::Inflater::Format::raw, options_.max_inflated);
  }
}

ClientFrames::State ClientFrames::feed(std::string_view bytes, Visitor& visitor) {
  while (state_ == State::open && !bytes.empty()) {
    bytes = in_header_ ? read_header(bytes, visitor) : read_payload(bytes, visitor);
  }
  return state_;
}

std::string_view ClientFrames::read_header(std::string_view bytes, Visitor& visitor) {
  auto take = std::min(bytes.size(), header_needed_ - header_size_);
  std::copy_n(bytes.data(), take, header_.data() + header_size_);
  header_size_ += take;
  bytes.remove_prefix(take);
  if (header_size_ < header_needed_) {
    return bytes;
  }
  if (header_needed_ == 2) {
    if (!check_start()) {
      return {};
    }
    auto length7 = static_cast<unsigned char>(header_[1]) & 0x7F;
    header_needed_ = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + 4;
    return bytes;
  }
  std::size_t at = 2;
  frame_.length = static_cast<unsigned char>(header_[1]) & 0x7F;
  if (frame_.length >= 126) {
    std::size_t size = frame_.length == 126 ? 2 : 8;
    frame_.length = 0;
    for (std::size_t i = 0; i < size; ++i) {
      frame_.length = (frame_.length << 8) | static_cast<unsigned char>(header_[at++]);
    }
    if (frame_.length >> 63) {
      fail(close_status::protocol_error, "64-bit length with the top bit set");
      return {};
    }
  }
  std::copy_n(header_.begin() + static_cast<std::ptrdiff_t>(at), 4, frame_.mask.begin());
  begin_frame(visitor);
  return bytes;
}

// Everything the first two bytes can break (RFC 6455 §5.2, §5.5; RFC 7692 §6).
bool ClientFrames::check_start() {
  auto first = static_cast<unsigned char>(header_[0]);
  auto second = static_cast<unsigned char>(header_[1]);
  frame_ = Frame{};
  frame_.fin = (first & 0x80) != 0;
  frame_.rsv1 = (first & 0x40) != 0;
  frame_.opcode = first & 0x0F;
  std::string_view error;
  if ((first & 0x30) != 0) {
    error = "RSV2 or RSV3 set";
  } else if ((frame_.opcode >= 0x3 && frame_.opcode <= 0x7) || frame_.opcode >= 0xB) {
    error = "reserved opcode";
  } else if ((second & 0x80) == 0) {
    error = "unmasked client frame";  // §5.1: a server must fail it
  } else if (frame_.control() && !frame_.fin) {
    error = "fragmented control frame";
  } else if (frame_.control() && (second & 0x7F) > 125) {
    error = "control frame over 125 bytes";
  } else if (frame_.control() && frame_.rsv1) {
    error = "RSV1 on a control frame";
  } else if (frame_.opcode == kContinuation && message_ == Message::none) {
    error = "continuation with no message open";
  } else if (frame_.opcode != kContinuation && !frame_.control() && message_ != Message::none) {
    error = "new message inside a fragmented message";
  } else if (frame_.rsv1 && !options_.deflate) {
    error = "RSV1 without permessage-deflate";
  } else if (frame_.rsv1 && frame_.opcode == kContinuation) {
    error = "RSV1 on a continuation frame";  // RFC 7692 §6.1: only the first frame carries it
  }
  if (!error.empty()) {
    fail(close_status::protocol_error, error);
    return false;
  }
  return true;
}

void ClientFrames::begin_frame(Visitor& visitor) {
  std::string_view header(header_.data(), header_size_);
  header_size_ = 0;
  header_needed_ = 2;
  in_header_ = false;
  if (frame_.opcode == kText || frame_.opcode == kBinary) {
    start_message(visitor);
  }
  if (!frame_.control() && message_ == Message::text) {
    if (!hold(header, visitor)) {
      return;
    }
  } else {
    visitor.forward(header);
  }
  if (frame_.length == 0) {
    end_frame(visitor);
  }
}

void ClientFrames::start_message(Visitor& visitor) {
  message_ = frame_.opcode == kText ? Message::text : Message::binary;
  compressed_ = frame_.rsv1;
  streaming_ = false;
  // A compressed binary message is inflated too (and its output dropped) when the window
  // carries over: the next text message may refer back into it.
  inflating_ = compressed_ && (message_ == Message::text || !options_.client_no_context_takeover);
  if (compressed_) {
    // A message that ended its DEFLATE stream (a final block, which browsers never send)
    // leaves nothing to take over: the next starts afresh, or the inflater would ignore it.
    if (options_.client_no_context_takeover || inflater_->ended()) {
      inflater_->reset();
    } else {
      inflater_->reset_budget();
    }
  }
  if (message_ == Message::text) {
    visitor.text_begin();
  }
}

std::string_view ClientFrames::read_payload(std::string_view bytes, Visitor& visitor) {
  auto size =
      static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), frame_.length - frame_.read));
  auto piece = bytes.substr(0, size);
  if (frame_.control()) {
    visitor.forward(piece);
  } else if (message_ == Message::binary) {
    if (inflating_ && !decode(piece, visitor)) {
      return {};
    }
    binary_bytes_ += size;
    visitor.forward(piece);
  } else if (!decode(piece, visitor) || !hold(piece, visitor)) {
    return {};
  }
  frame_.read += size;
  if (frame_.read == frame_.length) {
    end_frame(visitor);
  }
  return bytes.substr(size);
}

void ClientFrames::end_frame(Visitor& visitor) {
  in_header_ = true;
  if (!frame_.control() && frame_.fin) {
    end_message(visitor);
  }
}

void ClientFrames::end_message(Visitor& visitor) {
  if (inflating_ && !inflate(kDeflateTail, visitor)) {
    return;
  }
  auto ended = message_;
  message_ = Message::none;
  shrink(unmasked_);
  shrink(text_);
  if (ended != Message::text) {
    return;
  }
  if (visitor.text_end() == Verdict::stop) {
    state_ = State::stopped;
    shrink(held_);
    return;
  }
  if (!streaming_ && !held_.empty()) {
    visitor.forward(held_);
  }
  shrink(held_);
}

// Unmasks payload bytes (RFC 6455 §5.3) and hands over their text, inflated when compressed.
bool ClientFrames::decode(std::string_view raw, Visitor& visitor) {
  unmasked_.resize(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    unmasked_[i] =
        static_cast<char>(static_cast<unsigned char>(raw[i]) ^ frame_.mask[(frame_.read + i) % 4]);
  }
  if (inflating_) {
    return inflate(unmasked_, visitor);
  }
  if (!unmasked_.empty()) {
    visitor.text(unmasked_);
  }
  return true;
}

bool ClientFrames::inflate(std::string_view data, Visitor& visitor) {
  for (std::size_t at = 0; at < data.size(); at += kInflateSlice) {
    text_.clear();
    if (message_ == Message::binary) {
      inflater_->reset_budget();  // binary output is dropped, so it has no budget to keep
    }
    auto status = inflater_->feed(data.substr(at, kInflateSlice), text_);
    if (status == filters::Inflater::Status::corrupt) {
      fail(close_status::invalid_data, "compressed message does not inflate");
      return false;
    }
    if (status == filters::Inflater::Status::too_large) {
      fail(close_status::too_big, "message inflates past the limit");
      return false;
    }
    if (message_ == Message::text && !text_.empty()) {
      visitor.text(text_);
    }
  }
  return true;
}

bool ClientFrames::hold(std::string_view raw, Visitor& visitor) {
  if (streaming_) {
    visitor.forward(raw);
    return true;
  }
  if (held_.size() + raw.size() <= options_.max_held) {
    held_.append(raw);
    return true;
  }
  if (visitor.over_limit() == Verdict::stop) {
    state_ = State::stopped;
    shrink(held_);
    return false;
  }
  streaming_ = true;
  if (!held_.empty()) {
    visitor.forward(held_);
  }
  visitor.forward(raw);
  shrink(held_);
  return true;
}

void ClientFrames::fail(std::uint16_t code, std::string_view what) {
  state_ = State::failed;
  close_code_ = code;
  error_ = what;
  shrink(held_);
}

}  // namespace hallpass::websocket
