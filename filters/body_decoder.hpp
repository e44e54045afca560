// Turns a request body into the words a person wrote, piece by piece, so content patterns
// see "i want to die" and not "message=i+want+to+die" or "{\"text\":\"i want to die\"}".
// Fields and strings are separated by newlines so no pattern spans two of them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "filters/multipart_text.hpp"

namespace hallpass::filters {

class BodyDecoder {
 public:
  enum class Kind : std::uint8_t {
    text,       // text/*, and bodies without a type: scanned as they are
    form,       // application/x-www-form-urlencoded, and query strings
    json,       // application/json, +json: the contents of string literals
    multipart,  // multipart/form-data: its text fields (file parts are skipped)
    binary,     // images, video, archives, octet streams: counted, never scanned
  };
  static Kind kind_for(std::string_view content_type);

  explicit BodyDecoder(Kind kind) : kind_(kind) {}
  // The decoder a body of this Content-Type needs (multipart with its boundary).
  static BodyDecoder for_content_type(std::string_view content_type);
  Kind kind() const { return kind_; }
  // Appends the decoded text of `piece` to `out` (nothing for binary).
  void feed(std::string_view piece, std::string& out);
  // The end of the body: flushes a half-read escape.
  void finish(std::string& out);

 private:
  void feed_form(std::string_view piece, std::string& out);
  void feed_json(std::string_view piece, std::string& out);
  void json_escape(char c, std::string& out);
  void json_unicode_digit(char c, std::string& out);
  void append_code_point(std::uint32_t code, std::string& out);

  Kind kind_;
  std::optional<MultipartText> multipart_;
  // form: the bytes of a %XX escape seen so far
  char escape_[3] = {};
  std::uint8_t escape_length_ = 0;
  // json
  enum class Json : std::uint8_t { outside, string, escape, unicode } json_ = Json::outside;
  std::uint32_t unicode_ = 0;        // the \uXXXX digits so far
  std::uint8_t unicode_digits_ = 0;  // how many
  std::uint32_t high_surrogate_ = 0;
};

}  // namespace hallpass::filters
