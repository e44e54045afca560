#include "proxy/act/websocket_inspection.hpp"

namespace hallpass::act {

using Verdict = websocket::ClientFrames::Verdict;

void MessageInspection::text_begin() {
  ++messages_;
  scan_.emplace(policy_.content_scanner());
  decoder_.reset();
  unjudged_ = {};
  forwarded_unjudged_ = false;
}

void MessageInspection::text(std::string_view piece) {
  if (piece.empty() || !scan_) {
    return;
  }
  if (!decoder_) {
    // Chat clients send JSON envelopes ({"text": "..."}) or bare text; JSON is decoded so
    // escapes like \u0020 cannot hide a phrase.
    auto first = piece.find_first_not_of(" \t\r\n");
    bool json = first != std::string_view::npos && (piece[first] == '{' || piece[first] == '[');
    decoder_.emplace(json ? filters::BodyDecoder::Kind::json : filters::BodyDecoder::Kind::text);
  }
  decoded_.clear();
  decoder_->feed(piece, decoded_);
  scan_->feed(decoded_);
}

Verdict MessageInspection::text_end() {
  if (!scan_) {
    return Verdict::release;
  }
  decoded_.clear();
  if (decoder_) {
    decoder_->finish(decoded_);
  }
  scan_->feed(decoded_);
  scan_->finish();
  auto verdict = policy_.content_verdict(client_, *scan_);
  scan_.reset();
  verdict.unjudged = unjudged_;
  if (forwarded_unjudged_) {
    verdict.block = false;  // already sent: recorded, not stopped
  }
  if (verdict.flag || !verdict.unjudged.empty()) {
    record_(verdict, messages_);
  }
  if (verdict.block) {
    blocked_ = true;
    return Verdict::stop;
  }
  return Verdict::release;
}

Verdict MessageInspection::over_limit() {
  unjudged_ = "oversize";
  if (policy_.blocks_unjudged(client_)) {
    filters::ContentVerdict verdict;
    verdict.block = true;
    verdict.flag = true;
    verdict.unjudged = unjudged_;
    record_(verdict, messages_);
    blocked_ = true;
    return Verdict::stop;
  }
  forwarded_unjudged_ = true;
  return Verdict::release;
}

}  // namespace hallpass::act
