#include "filters/body_decoder.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "filters/hex_digit.hpp"

namespace hallpass::filters {

namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace

BodyDecoder::Kind BodyDecoder::kind_for(std::string_view content_type) {
  auto media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') {
    media.remove_suffix(1);
  }
  while (!media.empty() && media.front() == ' ') {
    media.remove_prefix(1);
  }
  if (media.empty() || starts_with_nocase(media, "text/")) {
    return Kind::text;
  }
  if (starts_with_nocase(media, "application/x-www-form-urlencoded")) {
    return Kind::form;
  }
  if (starts_with_nocase(media, "multipart/form-data")) {
    return MultipartText::boundary_of(content_type).empty() ? Kind::binary : Kind::multipart;
  }
  auto plus = media.rfind('+');
  if (starts_with_nocase(media, "application/json") ||
      (plus != std::string_view::npos && starts_with_nocase(media.substr(plus), "+json"))) {
    return Kind::json;
  }
  return Kind::binary;
}

BodyDecoder BodyDecoder::for_content_type(std::string_view content_type) {
  BodyDecoder decoder(kind_for(content_type));
  if (decoder.kind_ == Kind::multipart) {
    decoder.multipart_.emplace(MultipartText::boundary_of(content_type));
  }
  return decoder;
}

void BodyDecoder::feed(std::string_view piece, std::string& out) {
  switch (kind_) {
    case Kind::text:
      out.append(piece);
      break;
    case Kind::form:
      feed_form(piece, out);
      break;
    case Kind::json:
      feed_json(piece, out);
      break;
    case Kind::multipart:
      if (multipart_) {
        multipart_->feed(piece, out);
      }
      break;
    case Kind::binary:
      break;
  }
}

void BodyDecoder::finish(std::string& out) {
  if (multipart_) {
    multipart_->finish(out);
  }
  if (kind_ == Kind::form && escape_length_ > 0) {
    out.append(escape_, escape_length_);  // a broken escape is kept as written
    escape_length_ = 0;
  }
  if (kind_ == Kind::json && json_ != Json::outside) {
    out += '\n';
    json_ = Json::outside;
  }
}

// WHATWG URL-encoded parsing: '+' is a space, %XX a byte, '&' ends a field and '=' ends its
// name. A %XX split across two pieces is completed with the next one. The output is written
// through a pointer into space reserved up front (never longer than the input and a held
// escape), one byte through a translation table per input byte: chat text has a '+' every
// few bytes, so copying the runs between them (memcpy per run) cost more than this.
void BodyDecoder::feed_form(std::string_view piece, std::string& out) {
  static constexpr auto kByte = [] {
    std::array<char, 256> byte{};
    for (int c = 0; c < 256; ++c) {
      byte[static_cast<std::size_t>(c)] = static_cast<char>(c);
    }
    byte['+'] = ' ';
    byte['='] = ' ';
    byte['&'] = '\n';
    return byte;
  }();
  const char* in = piece.data();
  const char* const end = in + piece.size();
  std::size_t start = out.size();
  out.resize(start + piece.size() + sizeof escape_);
  char* w = out.data() + start;
  auto decode_escape = [&w](const char* escape) {
    int high = hex_value(escape[1]);
    int low = hex_value(escape[2]);
    if (high >= 0 && low >= 0) {
      *w++ = static_cast<char>(high * 16 + low);
    } else {
      std::memcpy(w, escape, 3);  // a broken escape is kept as written
      w += 3;
    }
  };
  while (escape_length_ > 0 && in < end) {
    escape_[escape_length_++] = *in++;
    if (escape_length_ == 3) {
      decode_escape(escape_);
      escape_length_ = 0;
    }
  }
  while (in < end) {
    char c = *in;
    if (c != '%') {
      *w++ = kByte[static_cast<unsigned char>(c)];
      ++in;
    } else if (end - in >= 3) {
      decode_escape(in);
      in += 3;
    } else {
      escape_length_ = static_cast<std::uint8_t>(end - in);
      std::memcpy(escape_, in, escape_length_);
      break;
    }
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
}

void BodyDecoder::append_code_point(std::uint32_t code, std::string& out) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

void BodyDecoder::json_escape(char c, std::string& out) {
  json_ = Json::string;
  switch (c) {
    case 'n':
    case 'r':
    case 't':
    case 'b':
    case 'f':
      out += ' ';
      break;
    case 'u':
      json_ = Json::unicode;
      unicode_ = 0;
      unicode_digits_ = 0;
      break;
    default:  // \" \\ \/ and anything else: the character itself
      out += c;
  }
}

// Only the contents of string literals (keys and values) reach the scanner, escapes decoded
// (RFC 8259 §7), \uXXXX surrogate pairs joined into one UTF-8 character. Inside a string,
// the bytes up to the next quote or backslash are copied as one run; outside, the scan
// jumps to the next quote.
void BodyDecoder::feed_json(std::string_view piece, std::string& out) {
  const char* in = piece.data();
  const char* const end = in + piece.size();
  while (in < end) {
    switch (json_) {
      case Json::outside: {
        const char* quote =
            static_cast<const char*>(std::memchr(in, '"', static_cast<std::size_t>(end - in)));
        if (quote == nullptr) {
          return;
        }
        in = quote + 1;
        json_ = Json::string;
        break;
      }
      case Json::string: {
        const char* run = in;
        while (in < end && *in != '"' && *in != '\\') {
          ++in;
        }
        out.append(run, static_cast<std::size_t>(in - run));
        if (in == end) {
          return;
        }
        if (*in++ == '"') {
          out += '\n';
          json_ = Json::outside;
        } else {
          json_ = Json::escape;
        }
        break;
      }
      case Json::escape:
        json_escape(*in++, out);
        break;
      case Json::unicode:
        json_unicode_digit(*in++, out);
        break;
    }
  }
}

void BodyDecoder::json_unicode_digit(char c, std::string& out) {
  int digit = hex_value(c);
  if (digit < 0) {  // malformed: drop the escape, keep reading the string
    json_ = c == '"' ? Json::outside : Json::string;
    return;
  }
  unicode_ = unicode_ * 16 + static_cast<std::uint32_t>(digit);
  if (++unicode_digits_ < 4) {
    return;
  }
  json_ = Json::string;
  if (unicode_ >= 0xD800 && unicode_ < 0xDC00) {
    high_surrogate_ = unicode_;
  } else if (unicode_ >= 0xDC00 && unicode_ < 0xE000 && high_surrogate_ != 0) {
    append_code_point(0x10000 + ((high_surrogate_ - 0xD800) << 10) + (unicode_ - 0xDC00), out);
    high_surrogate_ = 0;
  } else {
    append_code_point(unicode_, out);
    high_surrogate_ = 0;
  }
}

}  // namespace hallpass::filters
