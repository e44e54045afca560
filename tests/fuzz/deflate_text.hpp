// Compresses a text with zlib, so targets can hand the inflater (and the content path in
// front of it) valid gzip, zlib or raw deflate streams built from fuzzer bytes.
#pragma once

#include <zlib.h>

#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.hpp"

namespace hallpass::fuzz {

// window_bits as deflateInit2 takes them: 15 zlib, 16 + 15 gzip, -15 raw deflate.
inline std::string deflate_text(std::string_view text, int window_bits, int level = 6) {
  z_stream z{};
  FUZZ_CHECK(deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  FUZZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace hallpass::fuzz
