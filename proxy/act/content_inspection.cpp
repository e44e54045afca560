#include "proxy/act/content_inspection.hpp"

namespace hallpass::act {

ContentInspection::ContentInspection(const filters::Policy& policy, const filters::Client& client,
                                     std::string_view content_type,
                                     std::string_view content_encoding, std::size_t hold_bytes)
    : policy_(policy),
      client_(client),
      decoder_(filters::BodyDecoder::for_content_type(content_type)),
      scan_(policy.content_scanner()),
      hold_bytes_(hold_bytes),
      holds_(policy.content_can_block(client)) {
  auto coding = filters::content_coding(content_encoding);
  if (!coding.known) {
    unjudged_ = "coding";
  } else if (coding.compressed) {
    inflater_.emplace(coding.format, kMaxInflated);
  }
}

void ContentInspection::scan_query(std::string_view path) {
  auto question = path.find('?');
  if (question == std::string_view::npos) {
    return;
  }
  filters::BodyDecoder query(filters::BodyDecoder::Kind::form);
  text_.clear();
  query.feed(path.substr(question + 1), text_);
  query.finish(text_);
  text_ += '\n';
  scan_.feed(text_);
}

void ContentInspection::feed(std::string_view piece) {
  if (unjudged_ == "coding") {
    return;  // unreadable from its first byte
  }
  if (inflater_) {
    inflated_.clear();
    auto status = inflater_->feed(piece, inflated_);
    if (status == filters::Inflater::Status::corrupt) {
      unjudged_ = "corrupt";
    } else if (status == filters::Inflater::Status::too_large) {
      unjudged_ = "inflate_limit";
    }
    piece = inflated_;
  }
  text_.clear();
  decoder_.feed(piece, text_);
  scan_.feed(text_);
}

bool ContentInspection::over_hold_limit() {
  if (unjudged_.empty()) {
    unjudged_ = "oversize";
  }
  if (policy_.blocks_unjudged(client_)) {
    return false;
  }
  sent_unjudged_ = true;
  return true;
}

const filters::ContentVerdict& ContentInspection::finish() {
  if (!verdict_) {
    if (inflater_ && !inflater_->ended() && unjudged_.empty()) {
      unjudged_ = "corrupt";  // truncated: the compressed stream never ended
    }
    text_.clear();
    decoder_.finish(text_);
    scan_.feed(text_);
    scan_.finish();
    verdict_ = policy_.content_verdict(client_, scan_);
    verdict_->unjudged = unjudged_;
    if (sent_unjudged_) {
      verdict_->block = false;  // already sent: recorded, not stopped
    } else if (!unjudged_.empty() && policy_.blocks_unjudged(client_)) {
      verdict_->block = true;
      verdict_->flag = true;
    }
  }
  return *verdict_;
}

}  // namespace hallpass::act
