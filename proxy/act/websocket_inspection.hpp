// What the proxy does with each client→server WebSocket message: text messages are decoded,
// scanned with the policy's content patterns and judged before their frames go on; a block
// stops the connection. Binary and control frames pass through (see ClientFrames).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "filters/body_decoder.hpp"
#include "filters/policy.hpp"
#include "proxy/websocket/client_frames.hpp"

namespace hallpass::act {

// A scanned message that flagged, alerted or blocked: recorded as its own audit line.
using MessageRecorder =
    std::function<void(const filters::ContentVerdict& verdict, std::uint64_t message)>;

class MessageInspection : public websocket::ClientFrames::Visitor {
 public:
  MessageInspection(const filters::Policy& policy, const filters::Client& client,
                    MessageRecorder record)
      : policy_(policy), client_(client), record_(std::move(record)) {}

  // Bytes for the server gathered during ClientFrames::feed(); the caller sends and clears.
  std::string& out() { return out_; }
  bool blocked() const { return blocked_; }
  std::uint64_t messages() const { return messages_; }

  void forward(std::string_view bytes) override { out_.append(bytes); }
  void text_begin() override;
  void text(std::string_view piece) override;
  websocket::ClientFrames::Verdict text_end() override;
  websocket::ClientFrames::Verdict over_limit() override;

 private:
  const filters::Policy& policy_;
  filters::Client client_;
  MessageRecorder record_;
  std::string out_;
  std::string decoded_;
  std::optional<filters::ContentScanner::Scan> scan_;
  std::optional<filters::BodyDecoder> decoder_;  // chosen by the message's first byte
  std::string_view unjudged_;
  bool forwarded_unjudged_ = false;
  bool blocked_ = false;
  std::uint64_t messages_ = 0;
};

}  // namespace hallpass::act
