#include "proxy/act/content_inspection.hpp"

namespace hallpass::act {

ContentInspection::ContentInspection(const filters::Policy& policy, const filters::Client& client,
                                     std::string_view content_type, std::size_t hold_bytes)
    : policy_(policy),
      client_(client),
      decoder_(filters::BodyDecoder::for_content_type(content_type)),
      scan_(policy.content_scanner()),
      hold_bytes_(hold_bytes),
      holds_(policy.content_can_block(client)) {}

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
  text_.clear();
  decoder_.feed(piece, text_);
  scan_.feed(text_);
}

const filters::ContentVerdict& ContentInspection::finish() {
  if (!verdict_) {
    text_.clear();
    decoder_.finish(text_);
    scan_.feed(text_);
    scan_.finish();
    verdict_ = policy_.content_verdict(client_, scan_);
    if (oversize_) {
      verdict_->block = false;  // already sent: recorded, not stopped
    }
  }
  return *verdict_;
}

}  // namespace hallpass::act
