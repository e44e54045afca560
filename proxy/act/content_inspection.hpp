// The content scan of one request: its query string first, then its body piece by piece as
// it is read, decoded by its Content-Type. When the client's policy can block on content,
// the body is held (up to `hold_bytes`) and judged before anything is sent upstream; a body
// larger than that is forwarded, still scanned, and can only be flagged.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "filters/body_decoder.hpp"
#include "filters/policy.hpp"

namespace hallpass::act {

class ContentInspection {
 public:
  ContentInspection(const filters::Policy& policy, const filters::Client& client,
                    std::string_view content_type, std::size_t hold_bytes);

  void scan_query(std::string_view path);
  bool scans_body() const { return decoder_.kind() != filters::BodyDecoder::Kind::binary; }
  // Hold the body before forwarding: some threshold of this client's policy blocks.
  bool holds() const { return holds_; }
  std::size_t hold_bytes() const { return hold_bytes_; }
  void feed(std::string_view piece);
  // The body went upstream before the scan could finish: a block becomes a flag.
  void forwarded_unjudged() { oversize_ = true; }
  bool oversize() const { return oversize_; }
  // Ends the scan (once; later calls return the same verdict).
  const filters::ContentVerdict& finish();

 private:
  const filters::Policy& policy_;
  filters::Client client_;
  filters::BodyDecoder decoder_;
  filters::ContentScanner::Scan scan_;
  std::string text_;  // decoded text of the current piece, reused
  std::size_t hold_bytes_;
  bool holds_;
  bool oversize_ = false;
  std::optional<filters::ContentVerdict> verdict_;
};

}  // namespace hallpass::act
