// ClientHello peeking: real hellos from OpenSSL, every prefix, re-framed records, non-TLS
// openings, and a malformed variant of each rule.
#include "proxy/tls/client_hello.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

namespace hallpass::tls {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Captured on 127.0.0.1 from OpenSSL 3.0 `s_client -servername Example.COM. -alpn h2,http/1.1`.
constexpr std::string_view kOpensslSniHex =
    "160301014b0100014703037fca81bbf9ad588af295e085b951a5737435d85293f73152339accd3adfb660120"
    "ea9ec17a26542ac54b852260dd4fd1c48e6d0c8b2c5bf1e8160b1669dcd3240e003e130213031301c02cc030"
    "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
    "003c0035002f00ff010000c000000011000f00000c4578616d706c652e434f4d2e000b000403000102000a00"
    "160014001d0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e"
    "310016000000170000000d002a0028040305030603080708080809080a080b08040805080604010501060103"
    "0303010302040205020602002b0009080304030303020301002d00020101003300260024001d0020940f3934"
    "e9227058392dc0183624b7af34f22b65e821849b3dee820e4344ab2f";

// Captured the same way from `s_client -noservername`.
constexpr std::string_view kOpensslNoSniHex =
    "1603010124010001200303879934e6d28cbc4d934b50df6f149d4c5271fdfb11400bc451e056c368d1573a20"
    "fe8559f5a66683913d93f3b93be47b814414b8072d8d6d2f681c85bea4b59f7b003e130213031301c02cc030"
    "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
    "003c0035002f00ff01000099000b000403000102000a00160014001d0017001e001900180100010101020103"
    "0104002300000016000000170000000d002a0028040305030603080708080809080a080b0804080508060401"
    "05010601030303010302040205020602002b0009080304030303020301002d00020101003300260024001d00"
    "2046472313e7ac90b0b2fd8d676de9dfa8205dc654b8fe8683fe76fd9cedcffe74";

Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Bytes join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& part : parts) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

// `value` as `width` big-endian bytes, the way every TLS length is sent.
Bytes number(std::size_t value, std::size_t width) {
  Bytes out(width);
  for (std::size_t i = 0; i < width; ++i) {
    out[i] = static_cast<std::uint8_t>(value >> (8 * (width - 1 - i)));
  }
  return out;
}

std::size_t get(const Bytes& in, std::size_t at, std::size_t width) {
  std::size_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value = value << 8 | in.at(at + i);
  }
  return value;
}

void set(Bytes& in, std::size_t at, std::size_t width, std::size_t value) {
  const Bytes field = number(value, width);
  std::copy(field.begin(), field.end(), in.begin() + static_cast<std::ptrdiff_t>(at));
}

Bytes with_length(std::size_t width, const Bytes& body) {
  return join({number(body.size(), width), body});
}

Bytes extension(std::uint16_t type, const Bytes& data) {
  return join({number(type, 2), with_length(2, data)});
}

// RFC 6066 §3 server_name extension around raw ServerName entries.
Bytes server_names(const Bytes& entries) {
  return extension(0, with_length(2, entries));
}

Bytes sni(std::string_view name) {
  return server_names(join({{0}, with_length(2, text(name))}));
}

Bytes alpn(const std::vector<std::string_view>& names) {
  Bytes list;
  for (auto name : names) {
    list = join({list, with_length(1, text(name))});
  }
  return extension(16, with_length(2, list));
}

// A handshake message (header and body) in the RFC 8446 §4.1.2 layout.
Bytes hello_message(const Bytes& extensions, bool has_extensions = true) {
  Bytes body = join({number(0x0303, 2), Bytes(32, 0xaa),  // legacy_version, random
                     with_length(1, Bytes(32, 0xbb)),     // legacy_session_id
                     with_length(2, {0x13, 0x01, 0x13, 0x02}), with_length(1, {0x00})});
  if (has_extensions) {
    body = join({body, with_length(2, extensions)});
  }
  return join({{0x01}, with_length(3, body)});
}

// Wraps a handshake message in records whose payload sizes are `sizes`, then the rest.
Bytes frame(const Bytes& message, const std::vector<std::size_t>& sizes = {}) {
  Bytes out;
  std::size_t at = 0;
  auto record = [&](std::size_t n) {
    const Bytes header = join({{0x16, 0x03, 0x01}, number(n, 2)});
    const auto from = message.begin() + static_cast<std::ptrdiff_t>(at);
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), from, from + static_cast<std::ptrdiff_t>(n));
    at += n;
  };
  for (auto n : sizes) {
    record(n);
  }
  if (at < message.size()) {
    record(message.size() - at);
  }
  return out;
}

Bytes unframe(const Bytes& single_record) {
  return Bytes(single_record.begin() + 5, single_record.end());
}

// The captured hello with one more extension at the end of its block.
Bytes with_extra_extension(const Bytes& record, const Bytes& ext) {
  Bytes message = unframe(record);
  std::size_t at = 4 + 2 + 32;    // handshake header, legacy_version, random
  at += 1 + message.at(at);       // legacy_session_id
  at += 2 + get(message, at, 2);  // cipher_suites
  at += 1 + message.at(at);       // legacy_compression_methods
  set(message, at, 2, get(message, at, 2) + ext.size());
  set(message, 1, 3, get(message, 1, 3) + ext.size());
  return frame(join({message, ext}));
}

Bytes hello_with(const Bytes& extensions) {
  return frame(hello_message(extensions));
}

// Our own hello: SNI example.com and ALPN h2, http/1.1 (124 bytes in one record).
Bytes synthetic() {
  return frame(hello_message(join({sni("example.com"), alpn({"h2", "http/1.1"})})));
}

// Table rows are named and printed by their name rather than dumped as raw bytes.
constexpr auto kRowName = [](const auto& info) { return std::string(info.param.name); };

template <typename Row>
requires requires(const Row& row) {
  row.name;
}
void PrintTo(const Row& row, std::ostream* os) {
  *os << row.name;
}

auto fields(const ClientHello& h) {
  return std::tie(h.server_name, h.alpn, h.encrypted_client_hello, h.legacy_version);
}

TEST(ClientHelloPeek, ReadsOpensslHelloWithSniAndAlpn) {
  auto result = peek_client_hello(from_hex(kOpensslSniHex));
  ASSERT_EQ(result.status, PeekStatus::client_hello) << result.detail;
  EXPECT_EQ(result.hello.server_name, "example.com");
  EXPECT_EQ(result.hello.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_FALSE(result.hello.encrypted_client_hello);
  EXPECT_EQ(result.hello.legacy_version, 0x0303);
  EXPECT_TRUE(result.detail.empty());
}

TEST(ClientHelloPeek, EveryPrefixNeedsMore) {
  const Bytes message = unframe(from_hex(kOpensslSniHex));
  const std::vector<Bytes> hellos{from_hex(kOpensslSniHex), from_hex(kOpensslNoSniHex),
                                  frame(message, {1, 3}), frame(message, {100, 100}),
                                  frame(message, std::vector<std::size_t>(message.size(), 1))};
  for (const auto& hello : hellos) {
    for (std::size_t n = 0; n < hello.size(); ++n) {
      auto result = peek_client_hello(std::span(hello).first(n));
      ASSERT_EQ(result.status, PeekStatus::need_more) << "prefix " << n << ": " << result.detail;
    }
    EXPECT_EQ(peek_client_hello(hello).status, PeekStatus::client_hello);
  }
}

TEST(ClientHelloPeek, HelloSplitAcrossRecordsParsesIdentically) {
  const Bytes record = from_hex(kOpensslSniHex);
  const Bytes message = unframe(record);
  const auto whole = peek_client_hello(record);
  const std::vector<std::vector<std::size_t>> splits{
      {2}, {4}, {100, 100}, {1, 1, 1, 1}, {150, 1, 30}, std::vector<std::size_t>(300, 1)};
  for (const auto& sizes : splits) {
    auto result = peek_client_hello(frame(message, sizes));
    ASSERT_EQ(result.status, PeekStatus::client_hello)
        << sizes.size() << " cuts: " << result.detail;
    EXPECT_EQ(fields(result.hello), fields(whole.hello));
  }
}

struct HelloCase {
  const char* name;
  Bytes bytes;
  std::string server_name;
  std::vector<std::string> alpn = {};
  bool encrypted_client_hello = false;
};

class ParsesHello : public testing::TestWithParam<HelloCase> {};

TEST_P(ParsesHello, Fields) {
  const auto& c = GetParam();
  auto result = peek_client_hello(c.bytes);
  ASSERT_EQ(result.status, PeekStatus::client_hello) << result.detail;
  EXPECT_EQ(result.hello.server_name, c.server_name);
  EXPECT_EQ(result.hello.alpn, c.alpn);
  EXPECT_EQ(result.hello.encrypted_client_hello, c.encrypted_client_hello);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParsesHello,
    testing::Values(
        HelloCase{"synthetic", synthetic(), "example.com", {"h2", "http/1.1"}},
        HelloCase{"openssl_no_sni", from_hex(kOpensslNoSniHex), ""},
        HelloCase{"openssl_with_ech",
                  with_extra_extension(from_hex(kOpensslSniHex), extension(0xfe0d, {0, 1, 2})),
                  "example.com",
                  {"h2", "http/1.1"},
                  true},
        // A 0-RTT client sends early data right behind its hello (RFC 8446 §2.3).
        HelloCase{"early_data_follows",
                  join({synthetic(), from_hex("17030300020102")}),
                  "example.com",
                  {"h2", "http/1.1"}},
        HelloCase{"no_extensions_block", frame(hello_message({}, false)), "", {}},
        HelloCase{"empty_extensions_block", hello_with({}), "", {}},
        HelloCase{"ipv4_literal", hello_with(sni("192.0.2.1")), "192.0.2.1", {}},
        HelloCase{"ipv6_literal", hello_with(sni("2001:DB8::1")), "2001:db8::1", {}},
        HelloCase{"trailing_dot_removed", hello_with(sni("A.test.")), "a.test", {}},
        HelloCase{"name_255_bytes", hello_with(sni(std::string(255, 'B'))), std::string(255, 'b')},
        HelloCase{"unknown_name_type_skipped",
                  hello_with(server_names({1, 0, 1, 'x', 0, 0, 3, 'A', '.', 'b'})), "a.b"},
        HelloCase{"first_host_name_wins", hello_with(server_names({0, 0, 1, 'x', 0, 0, 1, 'y'})),
                  "x"},
        HelloCase{"unknown_extensions_skipped",
                  hello_with(join({extension(0x1234, {}), sni("b.test"), extension(0xffff, {9})})),
                  "b.test"}),
    kRowName);

struct RejectCase {
  const char* name;
  Bytes bytes;
  PeekStatus status;
  std::string_view detail;
};

class Rejects : public testing::TestWithParam<RejectCase> {};

TEST_P(Rejects, WithDetail) {
  const auto& c = GetParam();
  auto result = peek_client_hello(c.bytes);
  EXPECT_EQ(result.status, c.status);
  EXPECT_EQ(result.detail, c.detail);
  EXPECT_EQ(result.hello.server_name, "");
}

// The synthetic hello with its second record re-typed as application data (23).
Bytes data_record_in_middle() {
  Bytes bytes = frame(unframe(synthetic()), {50});
  bytes.at(5 + 50) = 23;
  return bytes;
}

constexpr auto kNotTls = PeekStatus::not_tls;
constexpr auto kMalformed = PeekStatus::malformed;
constexpr std::string_view kNotHandshake = "record type 0x16 expected";
constexpr std::string_view kControlByte = "control byte in server name";
constexpr std::string_view kNameLength = "server name length outside 1..255";
constexpr std::string_view kDuplicate = "duplicate extension type";

INSTANTIATE_TEST_SUITE_P(
    NotTls, Rejects,
    testing::Values(
        RejectCase{"ssh", text("SSH-2.0-OpenSSH_9.2\r\n"), kNotTls, kNotHandshake},
        RejectCase{"http", text("GET / HTTP/1.1\r\n"), kNotTls, kNotHandshake},
        RejectCase{"http_first_byte", text("G"), kNotTls, kNotHandshake},
        // OpenVPN over TCP: a 2-byte packet length, then P_CONTROL_HARD_RESET_CLIENT_V2 (0x38).
        RejectCase{"openvpn", from_hex("000e38a1b2c3d4e5f6a7b8000000000000"), kNotTls,
                   kNotHandshake},
        RejectCase{"sslv2_hello", from_hex("802e0100020015"), kNotTls, kNotHandshake},
        RejectCase{"handshake_byte_then_01", {0x16, 0x01}, kNotTls, "record version 3.x expected"}),
    kRowName);

INSTANTIATE_TEST_SUITE_P(
    Malformed, Rejects,
    testing::Values(
        RejectCase{"record_version_3_5", from_hex("160305"), kMalformed,
                   "record version above 3.4"},
        RejectCase{"empty_record", from_hex("1603010000"), kMalformed, "empty handshake record"},
        RejectCase{"oversized_record", from_hex("1603014001"), kMalformed,
                   "handshake record longer than 2^14 bytes"},
        RejectCase{"server_hello_type", from_hex("160303000502"), kMalformed,
                   "handshake type 1 (client_hello) expected"},
        RejectCase{"hello_over_limit", from_hex("160301000401010000"), kMalformed,
                   "client hello longer than 65536 bytes"},
        RejectCase{"data_record_in_middle", data_record_in_middle(), kMalformed,
                   "non-handshake record inside the client hello"},
        RejectCase{"bytes_after_hello_in_record", frame(join({unframe(synthetic()), {0x00}})),
                   kMalformed, "client hello does not end at a record boundary"},
        RejectCase{"duplicate_sni", hello_with(join({sni("a.test"), sni("b")})), kMalformed,
                   kDuplicate},
        RejectCase{"duplicate_other", hello_with(join({extension(7, {}), extension(7, {})})),
                   kMalformed, kDuplicate},
        RejectCase{"sni_control_byte", hello_with(sni("exa\x01mple.com")), kMalformed,
                   kControlByte},
        RejectCase{"sni_nul", hello_with(sni(std::string_view("good.test\0.evil.test", 20))),
                   kMalformed, kControlByte},
        RejectCase{"sni_del", hello_with(sni("a\x7f.test")), kMalformed, kControlByte},
        RejectCase{"sni_empty", hello_with(sni("")), kMalformed, kNameLength},
        RejectCase{"sni_256_bytes", hello_with(sni(std::string(256, 'a'))), kMalformed,
                   kNameLength},
        RejectCase{"sni_only_dot", hello_with(sni(".")), kMalformed, "server name is only a dot"},
        RejectCase{"sni_two_trailing_dots", hello_with(sni("nordvpn.com..")), kMalformed,
                   "server name ends in two dots"},
        RejectCase{"sni_empty_list", hello_with(server_names({})), kMalformed,
                   "empty server name list"},
        RejectCase{"alpn_empty_name", hello_with(alpn({"h2", ""})), kMalformed,
                   "empty ALPN protocol name"},
        RejectCase{"alpn_empty_list", hello_with(alpn({})), kMalformed, "empty ALPN list"},
        RejectCase{"alpn_list_short", hello_with(extension(16, {0, 2, 2, 'h', '2'})), kMalformed,
                   "ALPN list length does not match its extension"}),
    kRowName);

// A synthetic hello whose length field at `offset` (`width` bytes, now `value`) grows by one.
struct LengthCase {
  const char* name;
  std::size_t offset;
  std::size_t width;
  std::size_t value;
};

class LengthTooLarge : public testing::TestWithParam<LengthCase> {};

TEST_P(LengthTooLarge, IsMalformed) {
  const auto& c = GetParam();
  Bytes bytes = synthetic();
  ASSERT_EQ(get(bytes, c.offset, c.width), c.value) << "synthetic hello layout changed";
  set(bytes, c.offset, c.width, c.value + 1);
  auto result = peek_client_hello(bytes);
  EXPECT_EQ(result.status, PeekStatus::malformed) << result.detail;
  EXPECT_FALSE(result.detail.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Table, LengthTooLarge,
    testing::Values(LengthCase{"record", 3, 2, 119}, LengthCase{"session_id", 43, 1, 32},
                    LengthCase{"cipher_suites", 76, 2, 4},
                    LengthCase{"compression_methods", 82, 1, 1},
                    LengthCase{"extensions", 84, 2, 38}, LengthCase{"sni_extension", 88, 2, 16},
                    LengthCase{"server_name_list", 90, 2, 14}, LengthCase{"host_name", 93, 2, 11},
                    LengthCase{"alpn_extension", 108, 2, 14},
                    LengthCase{"protocol_name_list", 110, 2, 12},
                    LengthCase{"protocol_h2", 112, 1, 2}, LengthCase{"protocol_http11", 115, 1, 8}),
    kRowName);

TEST(ClientHelloPeek, HandshakeLengthTooLargeWaitsThenFailsOnTheExtraByte) {
  // One more handshake byte than the record holds means another record must follow.
  Bytes bytes = synthetic();
  set(bytes, 6, 3, get(bytes, 6, 3) + 1);
  EXPECT_EQ(peek_client_hello(bytes).status, PeekStatus::need_more);
  // Given that byte in the same record, it trails the extensions block.
  set(bytes, 3, 2, get(bytes, 3, 2) + 1);
  bytes.push_back(0);
  auto result = peek_client_hello(bytes);
  EXPECT_EQ(result.status, PeekStatus::malformed);
  EXPECT_EQ(result.detail, "bytes after the extensions");
}

TEST(ClientHelloPeek, TooManyTinyRecordsIsMalformed) {
  // 12,000 handshake bytes in 1-byte records take 72,000 bytes on the wire.
  const Bytes message = hello_message(extension(21, Bytes(12000, 0)));  // padding, RFC 7685
  ASSERT_EQ(peek_client_hello(frame(message)).status, PeekStatus::client_hello);
  auto result = peek_client_hello(frame(message, std::vector<std::size_t>(message.size(), 1)));
  EXPECT_EQ(result.status, PeekStatus::malformed);
  EXPECT_EQ(result.detail, "no complete client hello within 65536 bytes");
}

}  // namespace
}  // namespace hallpass::tls
