#include "filters/inflater.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace hallpass::filters {

struct Inflater::Stream {
  z_stream z{};
  ~Stream() { inflateEnd(&z); }
};

namespace {

constexpr int kWindowBits = 15;

// RFC 1950 §2.2: compression method 8 and a header checksum that divides by 31.
bool looks_like_zlib(unsigned char cmf, unsigned char flg) {
  return (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
}

}  // namespace

Inflater::Inflater(Format format, std::size_t max_output)
    : format_(format), max_output_(max_output) {
  if (format_ == Format::gzip) {
    open(16 + kWindowBits);
  } else if (format_ == Format::raw) {
    open(-kWindowBits);
  }
}

Inflater::~Inflater() = default;
Inflater::Inflater(Inflater&&) noexcept = default;
Inflater& Inflater::operator=(Inflater&&) noexcept = default;

void Inflater::open(int window_bits) {
  stream_ = std::make_unique<Stream>();
  if (inflateInit2(&stream_->z, window_bits) != Z_OK) {
    stream_.reset();
    status_ = Status::corrupt;
  }
}

void Inflater::reset() {
  produced_ = 0;
  status_ = Status::ok;
  ended_ = false;
  header_checked_ = false;
  first_byte_.clear();
  if (stream_ && format_ != Format::deflate) {
    inflateReset(&stream_->z);
  } else {
    stream_.reset();
    if (format_ != Format::deflate) {
      open(format_ == Format::gzip ? 16 + kWindowBits : -kWindowBits);
    }
  }
}

Inflater::Status Inflater::feed(std::string_view input, std::string& out) {
  if (status_ != Status::ok || ended_ || input.empty()) {
    return status_;
  }
  if (format_ == Format::deflate && !header_checked_) {
    // Two bytes tell zlib from raw: a lone first byte waits for the next piece.
    if (first_byte_.empty() && input.size() == 1) {
      first_byte_.assign(input);
      return status_;
    }
    header_checked_ = true;
    std::string start = first_byte_ + std::string(input.substr(0, 2 - first_byte_.size()));
    open(looks_like_zlib(static_cast<unsigned char>(start[0]), static_cast<unsigned char>(start[1]))
             ? kWindowBits
             : -kWindowBits);
    if (status_ != Status::ok) {
      return status_;
    }
    if (!first_byte_.empty()) {
      auto byte = std::move(first_byte_);
      first_byte_.clear();
      if (feed(byte, out) != Status::ok) {
        return status_;
      }
    }
  }
  auto& z = stream_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  constexpr std::size_t kChunk = 16 * 1024;
  // A full output chunk may leave more output inside zlib even when the input is used up.
  bool output_full = false;
  while (z.avail_in > 0 || output_full) {
    auto start = out.size();
    auto room = std::min(kChunk, max_output_ - produced_ + 1);
    out.resize(start + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + start);
    z.avail_out = static_cast<uInt>(room);
    int rc = inflate(&z, Z_SYNC_FLUSH);
    auto made = room - z.avail_out;
    output_full = z.avail_out == 0;
    out.resize(start + made);
    produced_ += made;
    if (produced_ > max_output_) {
      out.resize(out.size() - (produced_ - max_output_));
      status_ = Status::too_large;
      return status_;
    }
    if (rc == Z_STREAM_END) {
      ended_ = true;  // trailing bytes after the stream are not content
      break;
    }
    if (rc == Z_BUF_ERROR && made == 0) {
      break;  // needs more input
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status_ = Status::corrupt;
      return status_;
    }
  }
  return status_;
}

ContentCoding content_coding(std::string_view content_encoding) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
      s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
      s.remove_suffix(1);
    }
    return s;
  };
  auto equals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == y;
           });
  };
  auto coding = trim(content_encoding);
  if (coding.empty() || equals(coding, "identity")) {
    return {};
  }
  if (equals(coding, "gzip") || equals(coding, "x-gzip")) {
    return {true, true, Inflater::Format::gzip};
  }
  if (equals(coding, "deflate")) {
    return {true, true, Inflater::Format::deflate};
  }
  return {false, true, Inflater::Format::gzip};  // br, zstd, compress, or a stack of codings
}

}  // namespace hallpass::filters
