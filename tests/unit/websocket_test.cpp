// The WebSocket client→server reader: framing at every split point, the protocol errors that
// must stop a connection, held and released text, permessage-deflate with and without context
// takeover, the held-bytes and inflate limits; close frames.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "proxy/websocket/client_frames.hpp"
#include "proxy/websocket/close_frame.hpp"

namespace hallpass::websocket {
namespace {

using Verdict = ClientFrames::Verdict;
using State = ClientFrames::State;

constexpr unsigned char kKey[4] = {0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 §5.7's example key

enum class Length { minimal, wide16, wide64 };

// A client frame: `head` is the first byte (FIN, RSV bits, opcode), the payload masked.
std::string frame(unsigned char head, std::string_view payload, Length length = Length::minimal,
                  bool masked = true) {
  std::string out(1, static_cast<char>(head));
  unsigned char mask_bit = masked ? 0x80 : 0x00;
  auto size = payload.size();
  if (length == Length::minimal && size < 126) {
    out += static_cast<char>(mask_bit | size);
  } else if (length != Length::wide64 && size < 65536) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(size >> 8);
    out += static_cast<char>(size & 0xFF);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out += static_cast<char>((static_cast<std::uint64_t>(size) >> shift) & 0xFF);
    }
  }
  if (!masked) {
    return out + std::string(payload);
  }
  out.append(reinterpret_cast<const char*>(kKey), 4);
  for (std::size_t i = 0; i < size; ++i) {
    out += static_cast<char>(static_cast<unsigned char>(payload[i]) ^ kKey[i % 4]);
  }
  return out;
}

struct Recorder : ClientFrames::Visitor {
  std::string forwarded;
  std::vector<std::string> texts;             // one per text message begun
  std::vector<std::size_t> forwarded_at_end;  // forwarded.size() at each text_end
  int over_limits = 0;
  Verdict at_end = Verdict::release;
  Verdict at_limit = Verdict::release;

  void forward(std::string_view bytes) override { forwarded += bytes; }
  void text_begin() override { texts.emplace_back(); }
  void text(std::string_view piece) override { texts.back() += piece; }
  Verdict text_end() override {
    forwarded_at_end.push_back(forwarded.size());
    return at_end;
  }
  Verdict over_limit() override {
    ++over_limits;
    return at_limit;
  }
};

// Raw DEFLATE as a browser sends it (RFC 7692 §7.2.1): sync-flushed, the 00 00 ff ff cut off.
class Compressor {
 public:
  Compressor() { deflateInit2(&z_, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY); }
  ~Compressor() { deflateEnd(&z_); }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  std::string message(std::string_view text) {
    std::string out;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z_.avail_in = static_cast<uInt>(text.size());
    do {
      char chunk[16384];
      z_.next_out = reinterpret_cast<Bytef*>(chunk);
      z_.avail_out = sizeof(chunk);
      deflate(&z_, Z_SYNC_FLUSH);
      out.append(chunk, sizeof(chunk) - z_.avail_out);
    } while (z_.avail_out == 0);
    EXPECT_TRUE(out.ends_with(std::string_view("\x00\x00\xff\xff", 4)));
    out.resize(out.size() - 4);
    return out;
  }
  void reset() { deflateReset(&z_); }

 private:
  z_stream z_{};
};

ClientFrames::Options deflate_options(bool no_context_takeover = false) {
  ClientFrames::Options options;
  options.deflate = true;
  options.client_no_context_takeover = no_context_takeover;
  return options;
}

// --- framing ---

TEST(ClientFrames, TextHeldUntilItEndsThenReleasedUnchanged) {
  ClientFrames frames({});
  Recorder r;
  auto bytes = frame(0x81, "hello");
  EXPECT_EQ(frames.feed(bytes, r), State::open);
  EXPECT_EQ(r.texts, std::vector<std::string>{"hello"});
  EXPECT_EQ(r.forwarded_at_end, std::vector<std::size_t>{0});  // nothing before the verdict
  EXPECT_EQ(r.forwarded, bytes);
  EXPECT_EQ(frames.held(), 0u);
}

TEST(ClientFrames, BlockedTextNeverForwardedAndNothingAfter) {
  ClientFrames frames({});
  Recorder r;
  r.at_end = Verdict::stop;
  auto ping = frame(0x89, "p");
  EXPECT_EQ(frames.feed(ping + frame(0x81, "bad words") + frame(0x81, "more"), r), State::stopped);
  EXPECT_EQ(r.forwarded, ping);
  EXPECT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(frames.feed(frame(0x89, "again"), r), State::stopped);
  EXPECT_EQ(r.forwarded, ping);
}

TEST(ClientFrames, EmptyTextMessage) {
  ClientFrames frames({});
  Recorder r;
  auto bytes = frame(0x81, "");
  frames.feed(bytes, r);
  EXPECT_EQ(r.texts, std::vector<std::string>{""});
  EXPECT_EQ(r.forwarded, bytes);
}

// Several frames, every length encoding, a control frame inside a fragmented message.
struct Mixed {
  std::string text = frame(0x81, "Hello");
  std::string binary = frame(0x82, std::string(300, '\x07'));
  std::string ping = frame(0x89, "ping");
  std::string first = frame(0x01, "frag", Length::wide64);
  std::string pong = frame(0x8A, "");
  std::string last = frame(0x80, "ment", Length::wide16);
  std::string medium = frame(0x81, std::string(130, 'x'));

  std::string stream() const { return text + binary + ping + first + pong + last + medium; }
  // The pong goes ahead of the fragments held around it.
  std::string forwarded() const { return text + binary + ping + pong + first + last + medium; }
};

void expect_mixed(const Recorder& r, const ClientFrames& frames, const std::string& label) {
  EXPECT_EQ(frames.state(), State::open) << label;
  EXPECT_EQ(r.forwarded, Mixed().forwarded()) << label;
  EXPECT_EQ(r.texts, (std::vector<std::string>{"Hello", "fragment", std::string(130, 'x')}))
      << label;
  EXPECT_EQ(frames.binary_bytes(), 300u) << label;
}

TEST(ClientFrames, EveryTwoChunkSplit) {
  auto stream = Mixed().stream();
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    ClientFrames frames({});
    Recorder r;
    frames.feed(std::string_view(stream).substr(0, cut), r);
    frames.feed(std::string_view(stream).substr(cut), r);
    expect_mixed(r, frames, "cut at " + std::to_string(cut));
  }
}

TEST(ClientFrames, OneByteAtATime) {
  auto stream = Mixed().stream();
  ClientFrames frames({});
  Recorder r;
  for (char c : stream) {
    frames.feed(std::string_view(&c, 1), r);
  }
  expect_mixed(r, frames, "bytewise");
}

TEST(ClientFrames, SixteenAndSixtyFourBitLengths) {
  std::string medium(300, 'm');
  std::string large(70000, 'L');
  auto stream = frame(0x81, medium) + frame(0x81, large);
  EXPECT_EQ(static_cast<unsigned char>(stream[1]), 0x80 | 126);
  ClientFrames frames({});
  Recorder r;
  for (std::size_t at = 0; at < stream.size(); at += 999) {
    frames.feed(std::string_view(stream).substr(at, 999), r);
  }
  EXPECT_EQ(r.texts, (std::vector<std::string>{medium, large}));
  EXPECT_EQ(r.forwarded, stream);
}

TEST(ClientFrames, FragmentedTextWithPingBetween) {
  ClientFrames frames({});
  Recorder r;
  auto first = frame(0x01, "Hel");
  auto ping = frame(0x89, "are you there");
  auto middle = frame(0x00, "lo ");
  auto last = frame(0x80, "world");
  frames.feed(first + ping + middle, r);
  EXPECT_EQ(r.forwarded, ping);  // the ping goes ahead; the fragments wait
  EXPECT_EQ(frames.held(), first.size() + middle.size());
  frames.feed(last, r);
  EXPECT_EQ(r.texts, std::vector<std::string>{"Hello world"});
  EXPECT_EQ(r.forwarded, ping + first + middle + last);
}

TEST(ClientFrames, BinaryPassedThroughAsItArrives) {
  ClientFrames frames({});
  Recorder r;
  std::string data("\x00\x01\x02\xff binary", 11);
  auto first = frame(0x02, data);
  auto last = frame(0x80, data);
  frames.feed(first, r);
  EXPECT_EQ(r.forwarded, first);  // not held: forwarded before the message ends
  frames.feed(last.substr(0, 5), r);
  EXPECT_EQ(r.forwarded, first);  // a header is forwarded once it is whole and checked
  frames.feed(last.substr(5, 3), r);
  EXPECT_EQ(r.forwarded, first + last.substr(0, 8));
  frames.feed(last.substr(8), r);
  EXPECT_EQ(r.forwarded, first + last);
  EXPECT_TRUE(r.texts.empty());
  EXPECT_EQ(frames.binary_bytes(), 2 * data.size());
}

// --- protocol errors ---

struct ErrorCase {
  const char* name;
  std::string bytes;
  bool deflate;
  const char* error;
};

std::string top_bit_length() {
  std::string bytes = "\x82\xff";
  bytes += '\x80';
  bytes += std::string(7, '\0');
  return bytes + "abcd";
}

class ProtocolError : public testing::TestWithParam<ErrorCase> {};

TEST_P(ProtocolError, FailsWithoutForwardingTheFrame) {
  const auto& c = GetParam();
  ClientFrames::Options options;
  options.deflate = c.deflate;
  ClientFrames frames(options);
  Recorder r;
  auto good = frame(0x89, "ok");
  EXPECT_EQ(frames.feed(good + c.bytes + frame(0x81, "after"), r), State::failed);
  EXPECT_EQ(frames.error(), c.error);
  EXPECT_EQ(frames.close_code(), close_status::protocol_error);
  EXPECT_EQ(r.forwarded, good);
  EXPECT_TRUE(r.forwarded_at_end.empty());
  EXPECT_EQ(frames.feed(frame(0x89, "more"), r), State::failed);
  EXPECT_EQ(r.forwarded, good);
}

INSTANTIATE_TEST_SUITE_P(
    Frames, ProtocolError,
    testing::Values(
        ErrorCase{"unmasked", frame(0x81, "hi", Length::minimal, false), false,
                  "unmasked client frame"},
        ErrorCase{"oversize_ping", frame(0x89, std::string(126, 'p')), false,
                  "control frame over 125 bytes"},
        ErrorCase{"fragmented_ping", frame(0x09, "p"), false, "fragmented control frame"},
        ErrorCase{"opcode_3", frame(0x83, "x"), false, "reserved opcode"},
        ErrorCase{"opcode_7", frame(0x87, "x"), false, "reserved opcode"},
        ErrorCase{"opcode_B", frame(0x8B, "x"), false, "reserved opcode"},
        ErrorCase{"opcode_F", frame(0x8F, "x"), false, "reserved opcode"},
        ErrorCase{"rsv2", frame(0xA1, "x"), true, "RSV2 or RSV3 set"},
        ErrorCase{"rsv3", frame(0x91, "x"), true, "RSV2 or RSV3 set"},
        ErrorCase{"continuation_alone", frame(0x80, "x"), false,
                  "continuation with no message open"},
        ErrorCase{"text_inside_text", frame(0x01, "a") + frame(0x81, "b"), false,
                  "new message inside a fragmented message"},
        ErrorCase{"binary_inside_text", frame(0x01, "a") + frame(0x82, "b"), false,
                  "new message inside a fragmented message"},
        ErrorCase{"rsv1_without_deflate", frame(0xC1, "x"), false,
                  "RSV1 without permessage-deflate"},
        ErrorCase{"rsv1_on_continuation", frame(0x01, "a") + frame(0xC0, "b"), true,
                  "RSV1 on a continuation frame"},
        ErrorCase{"rsv1_on_ping", frame(0xC9, "x"), true, "RSV1 on a control frame"},
        ErrorCase{"length_top_bit", top_bit_length(), false, "64-bit length with the top bit set"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

// --- limits ---

TEST(ClientFrames, OverLimitReleasedStreamsTheRest) {
  ClientFrames::Options options;
  options.max_held = 64;
  ClientFrames frames(options);
  Recorder r;
  std::string part(40, 'a');
  auto first = frame(0x01, part);  // 46 bytes: held
  auto second = frame(0x00, part);
  auto third = frame(0x80, part);
  frames.feed(first, r);
  EXPECT_EQ(r.forwarded, "");
  EXPECT_EQ(r.over_limits, 0);
  frames.feed(second, r);  // its header fits (52), its payload does not
  EXPECT_EQ(r.over_limits, 1);
  EXPECT_EQ(r.forwarded, first + second);
  frames.feed(third.substr(0, 10), r);
  EXPECT_EQ(r.forwarded, first + second + third.substr(0, 10));
  frames.feed(third.substr(10), r);
  EXPECT_EQ(r.over_limits, 1);
  EXPECT_EQ(r.texts, std::vector<std::string>{part + part + part});  // all of it still scanned
  EXPECT_EQ(r.forwarded_at_end, std::vector<std::size_t>{first.size() * 3});
  EXPECT_EQ(r.forwarded, first + second + third);

  // The next message is held again.
  auto next = frame(0x81, "next");
  frames.feed(next, r);
  EXPECT_EQ(r.forwarded_at_end.back(), first.size() * 3);
  EXPECT_EQ(r.over_limits, 1);
  EXPECT_EQ(r.forwarded, first + second + third + next);
}

TEST(ClientFrames, OverLimitStopped) {
  ClientFrames::Options options;
  options.max_held = 64;
  ClientFrames frames(options);
  Recorder r;
  r.at_limit = Verdict::stop;
  EXPECT_EQ(frames.feed(frame(0x81, std::string(100, 'a')) + frame(0x89, "p"), r), State::stopped);
  EXPECT_EQ(r.over_limits, 1);
  EXPECT_EQ(r.forwarded, "");
  EXPECT_TRUE(r.forwarded_at_end.empty());
}

// --- permessage-deflate ---

TEST(ClientFrames, CompressedWithContextTakeover) {
  std::string sentence = "the quick brown fox jumps over the lazy dog, again and again";
  Compressor compressor;
  auto one = compressor.message(sentence);
  auto two = compressor.message(sentence);  // mostly a reference back into the first
  EXPECT_LT(two.size(), one.size());
  ClientFrames frames(deflate_options());
  Recorder r;
  auto bytes = frame(0xC1, one) + frame(0xC1, two);
  EXPECT_EQ(frames.feed(bytes, r), State::open);
  EXPECT_EQ(r.texts, (std::vector<std::string>{sentence, sentence}));
  EXPECT_EQ(r.forwarded, bytes);  // forwarded compressed, as received

  // Without the first message's window the second cannot be read.
  ClientFrames fresh(deflate_options());
  Recorder lost;
  EXPECT_EQ(fresh.feed(frame(0xC1, two), lost), State::failed);
  EXPECT_EQ(fresh.close_code(), close_status::invalid_data);
}

TEST(ClientFrames, CompressedWithoutContextTakeover) {
  Compressor compressor;
  auto one = compressor.message("first message text");
  compressor.reset();
  auto two = compressor.message("first message text, second");
  ClientFrames frames(deflate_options(true));
  Recorder r;
  frames.feed(frame(0xC1, one) + frame(0x81, "plain") + frame(0xC1, two), r);
  EXPECT_EQ(r.texts, (std::vector<std::string>{"first message text", "plain",
                                               "first message text, second"}));
}

// A hostile client ends its DEFLATE stream with a final block; the next message must still
// be read (from a fresh window), not ignored by an inflater that thinks the stream is over.
TEST(ClientFrames, AFinalDeflateBlockDoesNotHideTheNextMessage) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string first = "first";
  std::string finished(64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(first.data());
  z.avail_in = static_cast<uInt>(first.size());
  z.next_out = reinterpret_cast<Bytef*>(finished.data());
  z.avail_out = static_cast<uInt>(finished.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  finished.resize(finished.size() - z.avail_out);
  deflateEnd(&z);
  Compressor compressor;
  auto second = compressor.message("kill them");
  ClientFrames frames(deflate_options());
  Recorder r;
  frames.feed(frame(0xC1, finished) + frame(0xC1, second), r);
  EXPECT_EQ(r.texts, (std::vector<std::string>{"first", "kill them"}));
}

TEST(ClientFrames, CompressedFragmentedBytewise) {
  std::string text(5000, 'z');
  text += " the end";
  Compressor compressor;
  auto data = compressor.message(text);
  auto half = data.size() / 2;
  auto bytes = frame(0x41, data.substr(0, half)) + frame(0x89, "") + frame(0x80, data.substr(half));
  ClientFrames frames(deflate_options());
  Recorder r;
  for (char c : bytes) {
    frames.feed(std::string_view(&c, 1), r);
  }
  EXPECT_EQ(r.texts, std::vector<std::string>{text});
  EXPECT_EQ(r.forwarded,
            frame(0x89, "") + frame(0x41, data.substr(0, half)) + frame(0x80, data.substr(half)));
}

// With context takeover a text message may refer back into a compressed binary one.
TEST(ClientFrames, CompressedBinaryKeepsTheWindow) {
  std::string words = "words typed into a binary frame first";
  Compressor compressor;
  auto binary = compressor.message(words);
  auto text = compressor.message(words);
  ClientFrames frames(deflate_options());
  Recorder r;
  frames.feed(frame(0xC2, binary) + frame(0xC1, text), r);
  EXPECT_EQ(r.texts, std::vector<std::string>{words});
  EXPECT_EQ(frames.binary_bytes(), binary.size());
}

TEST(ClientFrames, InflateBombStopped) {
  Compressor compressor;
  auto bomb = compressor.message(std::string(8 * 1024 * 1024, 'A'));
  auto options = deflate_options();
  options.max_inflated = 1024 * 1024;
  ClientFrames frames(options);
  Recorder r;
  EXPECT_EQ(frames.feed(frame(0xC1, bomb), r), State::failed);
  EXPECT_EQ(frames.close_code(), close_status::too_big);
  EXPECT_EQ(frames.error(), "message inflates past the limit");
  EXPECT_EQ(r.forwarded, "");
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_LE(r.texts[0].size(), options.max_inflated);
}

TEST(ClientFrames, InflateBudgetIsPerMessage) {
  std::string text(600 * 1024, 'B');
  Compressor compressor;
  auto options = deflate_options();
  options.max_inflated = 1024 * 1024;
  ClientFrames frames(options);
  Recorder r;
  auto one = compressor.message(text);
  auto two = compressor.message(text);
  frames.feed(frame(0xC1, one) + frame(0xC1, two), r);
  EXPECT_EQ(frames.state(), State::open) << frames.error();
  EXPECT_EQ(r.texts, (std::vector<std::string>{text, text}));
}

TEST(ClientFrames, CorruptCompressedData) {
  ClientFrames frames(deflate_options());
  Recorder r;
  EXPECT_EQ(frames.feed(frame(0xC1, "\xff\xff\xff\xff"), r), State::failed);
  EXPECT_EQ(frames.close_code(), close_status::invalid_data);
  EXPECT_EQ(r.forwarded, "");
}

struct Close {
  bool masked;
  std::uint16_t code;
  std::string reason;
};

Close parse_close(const std::string& frame) {
  EXPECT_GE(frame.size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>(frame[0]), 0x88);
  auto second = static_cast<unsigned char>(frame[1]);
  bool masked = (second & 0x80) != 0;
  std::size_t length = second & 0x7F;
  EXPECT_LE(length, 125u);
  std::size_t at = masked ? 6 : 2;
  EXPECT_EQ(frame.size(), at + length);
  std::string payload = frame.substr(at);
  for (std::size_t i = 0; masked && i < payload.size(); ++i) {
    payload[i] = static_cast<char>(payload[i] ^ frame[2 + i % 4]);
  }
  auto code = static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                         static_cast<unsigned char>(payload[1]));
  return {masked, code, payload.substr(2)};
}

TEST(CloseFrame, ParsesBack) {
  auto to_client = parse_close(close_frame_to_client(close_status::policy_violation, "blocked"));
  EXPECT_FALSE(to_client.masked);
  EXPECT_EQ(to_client.code, 1008);
  EXPECT_EQ(to_client.reason, "blocked");

  auto frame = close_frame_to_server(close_status::policy_violation, "blocked");
  auto to_server = parse_close(frame);
  EXPECT_TRUE(to_server.masked);
  EXPECT_EQ(to_server.code, 1008);
  EXPECT_EQ(to_server.reason, "blocked");

  // A valid client frame: the reader passes it through.
  ClientFrames frames({});
  Recorder r;
  EXPECT_EQ(frames.feed(frame, r), State::open);
  EXPECT_EQ(r.forwarded, frame);
}

TEST(CloseFrame, ReasonCutAtACharacterBoundary) {
  auto ascii = parse_close(close_frame_to_client(1008, std::string(200, 'a')));
  EXPECT_EQ(ascii.reason, std::string(123, 'a'));

  std::string accents;
  for (int i = 0; i < 100; ++i) {
    accents += "\xc3\xa9";  // é
  }
  auto cut = parse_close(close_frame_to_server(1008, accents));
  EXPECT_EQ(cut.reason, accents.substr(0, 122));

  std::string mixed = "a" + accents;  // é now straddles byte 123
  EXPECT_EQ(parse_close(close_frame_to_client(1008, mixed)).reason, mixed.substr(0, 123));
  std::string emoji = std::string(121, 'a') + "\xf0\x9f\x98\x80";
  EXPECT_EQ(parse_close(close_frame_to_client(1008, emoji)).reason, std::string(121, 'a'));
}

TEST(CloseFrame, MaskKeysDiffer) {
  auto a = close_frame_to_server(1001, "");
  auto b = close_frame_to_server(1001, "");
  EXPECT_EQ(parse_close(a).code, 1001);
  EXPECT_NE(a.substr(2, 4), b.substr(2, 4));  // 2^-32 chance of a false failure
}

}  // namespace
}  // namespace hallpass::websocket
