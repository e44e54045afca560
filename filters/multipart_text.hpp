// The text parts of a multipart/form-data body (RFC 7578), piece by piece: the fields a
// person typed. File parts (a filename, or a non-text type) are skipped, never scanned. At
// most one part's headers and a delimiter's length of bytes are kept between pieces.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hallpass::filters {

class MultipartText {
 public:
  explicit MultipartText(std::string_view boundary) : delimiter_("\r\n--") {
    delimiter_ += boundary;
  }
  // Appends the text of the text parts in `piece` to `out`, each part ending in a newline.
  void feed(std::string_view piece, std::string& out);
  void finish(std::string& out);

  // The boundary parameter of a multipart Content-Type; empty when there is none.
  static std::string_view boundary_of(std::string_view content_type);

 private:
  enum class State : std::uint8_t { preamble, after_delimiter, headers, content, done };
  bool step(std::string& out);  // one state's work; false when it needs more bytes

  std::string delimiter_;  // "\r\n--" + boundary
  std::string pending_;
  State state_ = State::preamble;
  bool text_part_ = false;
};

}  // namespace hallpass::filters
