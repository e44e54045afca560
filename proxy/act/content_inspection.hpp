// The content scan of one request: its query string first, then its body piece by piece as
// it is read, inflated by its Content-Encoding and decoded by its Content-Type. When the
// client's policy can block on content, the body is held (up to `hold_bytes`) and judged
// before anything is sent upstream; a body larger than that, or one the scanner cannot read
// (an unknown coding, corrupt compression, past the inflate limit), is "unjudged": forwarded
// and recorded, or blocked before it is sent under `on_oversize: block`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "filters/body_decoder.hpp"
#include "filters/inflater.hpp"
#include "filters/policy.hpp"

namespace hallpass::act {

class ContentInspection {
 public:
  ContentInspection(const filters::Policy& policy, const filters::Client& client,
                    std::string_view content_type, std::string_view content_encoding,
                    std::size_t hold_bytes);

  // A compressed body inflates to at most this much text; past it the rest is not scanned.
  static constexpr std::size_t kMaxInflated = 64 * 1024 * 1024;

  void scan_query(std::string_view path);
  bool scans_body() const { return decoder_.kind() != filters::BodyDecoder::Kind::binary; }
  // Hold the body before forwarding: some threshold of this client's policy blocks.
  bool holds() const { return holds_; }
  std::size_t hold_bytes() const { return hold_bytes_; }
  void feed(std::string_view piece);
  // The held body reached the hold limit. True: forward it unjudged (a block becomes a
  // flag); false: `on_oversize: block`, send nothing.
  bool over_hold_limit();
  // Why the body could not be judged whole, if it could not ("" when it could).
  std::string_view unjudged() const { return unjudged_; }
  // Ends the scan (once; later calls return the same verdict).
  const filters::ContentVerdict& finish();

 private:
  const filters::Policy& policy_;
  filters::Client client_;
  filters::BodyDecoder decoder_;
  filters::ContentScanner::Scan scan_;
  std::optional<filters::Inflater> inflater_;
  std::string inflated_;  // the inflated bytes of the current piece, reused
  std::string text_;      // decoded text of the current piece, reused
  std::size_t hold_bytes_;
  bool holds_;
  bool sent_unjudged_ = false;  // part of the body went upstream before it was judged
  std::string_view unjudged_;
  std::optional<filters::ContentVerdict> verdict_;
};

}  // namespace hallpass::act
