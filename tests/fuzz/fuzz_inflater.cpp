// Compressed request bodies are inflated before they are scanned, from bytes a client
// chooses: the inflater must stop at its output budget (a small bomb cannot grow without
// bound), must not care where the body was cut, and must give back exactly what was
// compressed. Half the inputs are fed as compressed streams as they are; the other half are
// compressed here first, so the fuzzer reaches the decoder's deep states and the output can
// be checked against the original.
//
// Input: byte 0 picks the format (bits 0-1: gzip, deflate, raw), the compression level
// (bits 2-5), a raw stream for "deflate" (bit 6) and the mode (bit 7: compress here);
// byte 1 where the stream is cut in two; byte 2 the output budget; the rest is the
// compressed stream or the text to compress.
#include <cstdint>
#include <string>
#include <string_view>

#include "filters/inflater.hpp"
#include "tests/fuzz/deflate_text.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using hallpass::filters::Inflater;

struct Result {
  std::string out;
  Inflater::Status status;
  bool ended;
};

Result inflate(Inflater& inflater, std::string_view first, std::string_view second) {
  Result result;
  inflater.feed(first, result.out);
  result.status = inflater.feed(second, result.out);
  result.ended = inflater.ended();
  FUZZ_CHECK(result.status == inflater.status());
  return result;
}

bool same(const Result& a, const Result& b) {
  return a.out == b.out && a.status == b.status && a.ended == b.ended;
}

// zlib's window bits for each format: gzip wrapper, zlib wrapper, or none.
int window_bits(Inflater::Format format, bool raw_deflate) {
  switch (format) {
    case Inflater::Format::gzip:
      return 16 + 15;
    case Inflater::Format::deflate:
      return raw_deflate ? -15 : 15;  // "deflate" bodies come both ways in the wild
    case Inflater::Format::raw:
      return -15;
  }
  return 15;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) {
    return 0;
  }
  auto format = static_cast<Inflater::Format>((data[0] & 3) % 3);
  bool compress_here = (data[0] & 0x80) != 0;
  // 0: the proxy's own limit (ContentInspection::kMaxInflated); else small, to reach it.
  std::size_t budget = data[2] == 0 ? std::size_t{64} << 20 : std::size_t{data[2]} * 16;
  std::string_view input(reinterpret_cast<const char*>(data + 3), size - 3);
  std::string compressed;
  if (compress_here) {
    compressed = hallpass::fuzz::deflate_text(input, window_bits(format, (data[0] & 0x40) != 0),
                                              ((data[0] >> 2) & 15) % 10);
  }
  std::string_view stream = compress_here ? std::string_view(compressed) : input;

  Inflater inflater(format, budget);
  auto whole = inflate(inflater, stream, {});
  FUZZ_CHECK(whole.out.size() <= budget);
  FUZZ_CHECK(whole.status != Inflater::Status::too_large || whole.out.size() == budget);
  auto cut = stream.size() * data[1] / 256;
  Inflater split_inflater(format, budget);
  FUZZ_CHECK(same(inflate(split_inflater, stream.substr(0, cut), stream.substr(cut)), whole));
  inflater.reset();  // a fresh stream and budget: as good as a new inflater
  FUZZ_CHECK(same(inflate(inflater, stream, {}), whole));

  if (compress_here) {
    if (input.size() <= budget) {
      FUZZ_CHECK(whole.status == Inflater::Status::ok && whole.ended && whole.out == input);
    } else {
      FUZZ_CHECK(whole.status == Inflater::Status::too_large &&
                 whole.out == input.substr(0, budget));
    }
  }
  return 0;
}
