#include "filters/inflater.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace hallpass::filters {
namespace {

// Compresses with zlib itself: window_bits 15 zlib-wrapped, 31 gzip, -15 raw.
std::string compress(std::string_view text, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&z, text.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string sample() {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "message " + std::to_string(i) + " says hello to the class; ";
  }
  return text;
}

std::string inflate_in_pieces(Inflater& inflater, std::string_view input, std::size_t piece) {
  std::string out;
  for (std::size_t at = 0; at < input.size(); at += piece) {
    inflater.feed(input.substr(at, piece), out);
  }
  return out;
}

TEST(Inflater, ReadsEachFormatWhateverThePieceSize) {
  auto text = sample();
  struct Case {
    Inflater::Format format;
    int window_bits;
  };
  for (auto [format, bits] :
       {Case{Inflater::Format::gzip, 31}, Case{Inflater::Format::deflate, 15},
        Case{Inflater::Format::deflate, -15}, Case{Inflater::Format::raw, -15}}) {
    auto compressed = compress(text, bits);
    for (std::size_t piece :
         {std::size_t{1}, std::size_t{7}, std::size_t{4096}, compressed.size()}) {
      Inflater inflater(format, 1 << 20);
      // EXPECT_TRUE: a mismatch would print 70 KB of text.
      EXPECT_TRUE(inflate_in_pieces(inflater, compressed, piece) == text)
          << "bits " << bits << " piece " << piece;
      EXPECT_EQ(inflater.status(), Inflater::Status::ok);
    }
  }
}

TEST(Inflater, StopsAtItsOutputBudget) {
  std::string zeros(10 << 20, '\0');  // 10 MiB of zeros compress to about 10 KiB: a small bomb
  auto bomb = compress(zeros, 31);
  Inflater inflater(Inflater::Format::gzip, 1 << 20);
  std::string out;
  EXPECT_EQ(inflater.feed(bomb, out), Inflater::Status::too_large);
  EXPECT_EQ(out.size(), std::size_t{1} << 20);
  EXPECT_EQ(inflater.feed(bomb, out), Inflater::Status::too_large);
  EXPECT_EQ(out.size(), std::size_t{1} << 20);
}

TEST(Inflater, ReportsCorruptInput) {
  auto compressed = compress(sample(), 31);
  compressed[20] = static_cast<char>(compressed[20] ^ 0xFF);
  compressed[21] = static_cast<char>(compressed[21] ^ 0xFF);
  Inflater inflater(Inflater::Format::gzip, 1 << 20);
  std::string out;
  inflater.feed(compressed, out);
  EXPECT_EQ(inflater.status(), Inflater::Status::corrupt);
}

TEST(Inflater, ResetStartsAFreshStreamAndBudget) {
  auto first = compress("first body", 31);
  auto second = compress("second body", 31);
  Inflater inflater(Inflater::Format::gzip, 64);
  std::string out;
  inflater.feed(first, out);
  inflater.reset();
  inflater.feed(second, out);
  EXPECT_EQ(out, "first bodysecond body");
}

TEST(ContentCoding, NamesWhatTheScannerCanRead) {
  EXPECT_FALSE(content_coding("").compressed);
  EXPECT_FALSE(content_coding("identity").compressed);
  EXPECT_EQ(content_coding(" GZIP ").format, Inflater::Format::gzip);
  EXPECT_EQ(content_coding("x-gzip").format, Inflater::Format::gzip);
  EXPECT_EQ(content_coding("deflate").format, Inflater::Format::deflate);
  EXPECT_FALSE(content_coding("br").known);
  EXPECT_FALSE(content_coding("gzip, gzip").known);
}

}  // namespace
}  // namespace hallpass::filters
