#include "proxy/tls/client_hello.hpp"

#include <algorithm>
#include <array>
#include <bitset>
#include <optional>

namespace hallpass::tls {

namespace {

using Bytes = std::span<const std::uint8_t>;

constexpr std::uint8_t kHandshakeRecord = 22;
constexpr std::uint8_t kClientHelloType = 1;
constexpr std::size_t kRecordHeaderBytes = 5;     // type, version (2), length (2)
constexpr std::size_t kHandshakeHeaderBytes = 4;  // msg_type, length (3)
constexpr std::size_t kMaxPlaintextRecord = std::size_t{1} << 14;
constexpr std::uint16_t kServerNameExtension = 0;
constexpr std::uint16_t kAlpnExtension = 16;
constexpr std::uint16_t kEchExtension = 0xfe0d;
constexpr std::size_t kHostNameType = 0;

std::size_t read_big_endian(Bytes bytes) {
  std::size_t value = 0;
  for (auto b : bytes) {
    value = value << 8 | b;
  }
  return value;
}

// Bounds-checked reads over one block; a read that would run past the block fails and
// consumes nothing, so no length field can make the parser leave its input.
class Reader {
 public:
  explicit Reader(Bytes bytes) : rest_(bytes) {}

  bool empty() const { return rest_.empty(); }

  bool read(std::size_t n, Bytes& out) {
    if (n > rest_.size()) {
      return false;
    }
    out = rest_.first(n);
    rest_ = rest_.subspan(n);
    return true;
  }

  bool read_number(std::size_t width, std::size_t& out) {
    Bytes field;
    if (!read(width, field)) {
      return false;
    }
    out = read_big_endian(field);
    return true;
  }

  // A vector with a `width`-byte length in front of it (RFC 8446 §3.4).
  bool read_vector(std::size_t width, Bytes& out) {
    std::size_t length = 0;
    return read_number(width, length) && read(length, out);
  }

 private:
  Bytes rest_;
};

// What the record layer says about the handshake message so far.
struct Framing {
  PeekStatus status = PeekStatus::need_more;  // client_hello: every record of the message is here
  std::string_view detail;
  std::size_t message_size = 0;  // handshake header + body; 0 until the header has arrived
  std::size_t records = 0;       // records carrying the message
};

Framing stop(PeekStatus status, std::string_view detail) {
  Framing framing;
  framing.status = status;
  framing.detail = detail;
  return framing;
}

// Judges whatever part of a record header has arrived, so a non-TLS client is told apart
// after one byte rather than five.
std::optional<Framing> check_record_header(Bytes header, bool first) {
  // Only the first record can show the stream is not TLS at all; a bad header later breaks a
  // hello that has already begun.
  const auto wrong = first ? PeekStatus::not_tls : PeekStatus::malformed;
  if (!header.empty() && header[0] != kHandshakeRecord) {
    return stop(wrong, first ? "record type 0x16 expected"
                             : "non-handshake record inside the client hello");
  }
  if (header.size() > 1 && header[1] != 3) {
    return stop(wrong, "record version 3.x expected");
  }
  if (header.size() > 2 && header[2] > 4) {
    return stop(PeekStatus::malformed, "record version above 3.4");
  }
  if (header.size() < kRecordHeaderBytes) {
    return std::nullopt;
  }
  const std::size_t length = read_big_endian(header.subspan(3));
  // RFC 8446 §5.1: zero-length fragments of handshake types MUST NOT be sent.
  if (length == 0) {
    return stop(PeekStatus::malformed, "empty handshake record");
  }
  // RFC 8446 §5.1: a plaintext record MUST NOT exceed 2^14 bytes; a hello is never encrypted.
  if (length > kMaxPlaintextRecord) {
    return stop(PeekStatus::malformed, "handshake record longer than 2^14 bytes");
  }
  return std::nullopt;
}

// The 4-byte handshake header, which may itself arrive spread over several tiny records.
struct MessageStart {
  std::array<std::uint8_t, kHandshakeHeaderBytes> bytes{};
  std::size_t have = 0;
};

std::optional<Framing> absorb_message_start(MessageStart& start, Bytes payload,
                                            std::size_t& message_size) {
  for (std::size_t i = 0; i < payload.size() && start.have < start.bytes.size(); ++i) {
    start.bytes[start.have++] = payload[i];
  }
  if (start.have > 0 && start.bytes[0] != kClientHelloType) {
    return stop(PeekStatus::malformed, "handshake type 1 (client_hello) expected");
  }
  if (start.have == start.bytes.size() && message_size == 0) {
    message_size = kHandshakeHeaderBytes + read_big_endian(Bytes(start.bytes).subspan(1));
    if (message_size > kMaxClientHelloBytes) {
      return stop(PeekStatus::malformed, "client hello longer than 65536 bytes");
    }
  }
  return std::nullopt;
}

// Follows the handshake message through its records: RFC 8446 §5.1 lets one message span
// several records, and TCP may split any record.
Framing locate_message(Bytes bytes) {
  Framing found;
  MessageStart start;
  std::size_t declared = 0;  // handshake bytes in the records whose headers have arrived
  std::size_t pos = 0;
  while (true) {
    const Bytes header = bytes.subspan(pos, std::min(kRecordHeaderBytes, bytes.size() - pos));
    if (auto bad = check_record_header(header, found.records == 0)) {
      return *bad;
    }
    if (header.size() < kRecordHeaderBytes) {
      return found;
    }
    const std::size_t length = read_big_endian(header.subspan(3));
    const std::size_t payload_at = pos + kRecordHeaderBytes;
    if (payload_at + length > kMaxClientHelloBytes) {
      return stop(PeekStatus::malformed, "no complete client hello within 65536 bytes");
    }
    const Bytes payload = bytes.subspan(payload_at, std::min(length, bytes.size() - payload_at));
    if (auto bad = absorb_message_start(start, payload, found.message_size)) {
      return *bad;
    }
    ++found.records;
    declared += length;
    // RFC 8446 §5.1: a ClientHello may precede a key change (0-RTT), so it must end at a
    // record boundary; bytes after it in the same record are not ours to ignore.
    if (found.message_size != 0 && declared > found.message_size) {
      return stop(PeekStatus::malformed, "client hello does not end at a record boundary");
    }
    if (payload.size() < length) {
      return found;
    }
    pos = payload_at + length;
    if (declared == found.message_size) {
      found.status = PeekStatus::client_hello;
      return found;
    }
  }
}

// The handshake body in one piece: in place when one record carries it (the usual case),
// else copied out of its records into `storage`.
Bytes gather_body(Bytes bytes, const Framing& framing, std::vector<std::uint8_t>& storage) {
  if (framing.records == 1) {
    return bytes.subspan(kRecordHeaderBytes + kHandshakeHeaderBytes,
                         framing.message_size - kHandshakeHeaderBytes);
  }
  storage.reserve(framing.message_size);
  std::size_t pos = 0;
  for (std::size_t i = 0; i < framing.records; ++i) {
    const std::size_t length = read_big_endian(bytes.subspan(pos + 3, 2));
    const Bytes payload = bytes.subspan(pos + kRecordHeaderBytes, length);
    storage.insert(storage.end(), payload.begin(), payload.end());
    pos += kRecordHeaderBytes + length;
  }
  return Bytes(storage).subspan(kHandshakeHeaderBytes);
}

// Each parse step below returns why the hello is malformed, or an empty view when it is fine.

std::string_view take_host_name(Bytes name, std::string& out) {
  // RFC 6066 §3 allows 2^16-1 bytes, but a DNS name is at most 255 (RFC 1035 §2.3.4).
  if (name.empty() || name.size() > 255) {
    return "server name length outside 1..255";
  }
  // A NUL or control byte would let "good.test\0.evil.test" mean two names to two readers.
  if (std::any_of(name.begin(), name.end(), [](std::uint8_t b) { return b < 0x20 || b == 0x7f; })) {
    return "control byte in server name";
  }
  // RFC 6066 §3 says "without a trailing dot", yet clients pass through what the user typed.
  if (name.back() == '.') {
    name = name.first(name.size() - 1);
  }
  if (name.empty()) {
    return "server name is only a dot";
  }
  // "nordvpn.com.." is no DNS name; kept as "nordvpn.com." it would miss every list entry.
  if (name.back() == '.') {
    return "server name ends in two dots";
  }
  out.clear();
  out.reserve(name.size());
  for (auto b : name) {
    // ASCII only: RFC 6066 §3 host names are A-labels, and a locale must not change a byte.
    out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b));
  }
  return {};
}

// RFC 6066 §3: ServerNameList server_name_list<1..2^16-1>. Like Go and BoringSSL, every entry
// is read as name_type plus a 2-byte length so unknown types can be skipped; the first
// host_name(0) entry is the server name.
std::string_view parse_server_name(Bytes data, ClientHello& hello) {
  Reader extension(data);
  Bytes list;
  if (!extension.read_vector(2, list) || !extension.empty()) {
    return "server name list length does not match its extension";
  }
  if (list.empty()) {
    return "empty server name list";
  }
  Reader entries(list);
  bool found = false;
  while (!entries.empty()) {
    std::size_t name_type = 0;
    Bytes name;
    if (!entries.read_number(1, name_type) || !entries.read_vector(2, name)) {
      return "server name runs past its list";
    }
    if (name_type != kHostNameType || found) {
      continue;
    }
    found = true;
    if (auto error = take_host_name(name, hello.server_name); !error.empty()) {
      return error;
    }
  }
  return {};
}

// RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>; opaque ProtocolName<1..2^8-1>.
std::string_view parse_alpn(Bytes data, ClientHello& hello) {
  Reader extension(data);
  Bytes list;
  if (!extension.read_vector(2, list) || !extension.empty()) {
    return "ALPN list length does not match its extension";
  }
  if (list.empty()) {
    return "empty ALPN list";
  }
  Reader names(list);
  while (!names.empty()) {
    Bytes name;
    if (!names.read_vector(1, name)) {
      return "ALPN protocol name runs past its list";
    }
    if (name.empty()) {
      return "empty ALPN protocol name";
    }
    hello.alpn.emplace_back(name.begin(), name.end());
  }
  return {};
}

std::string_view parse_extensions(Bytes block, ClientHello& hello) {
  // RFC 8446 §4.2: at most one extension of each type. One bit per type (8 KiB) keeps this
  // linear; 16k tiny extensions would make a pairwise scan slow.
  std::bitset<65536> seen;
  Reader extensions(block);
  while (!extensions.empty()) {
    std::size_t type = 0;
    Bytes data;
    if (!extensions.read_number(2, type) || !extensions.read_vector(2, data)) {
      return "extension runs past the extensions block";
    }
    if (seen.test(type)) {
      return "duplicate extension type";
    }
    seen.set(type);
    std::string_view error;
    if (type == kServerNameExtension) {
      error = parse_server_name(data, hello);
    } else if (type == kAlpnExtension) {
      error = parse_alpn(data, hello);
    } else if (type == kEchExtension) {
      // With ECH the server_name above is only the public name; the caller must know that.
      hello.encrypted_client_hello = true;
    }
    if (!error.empty()) {
      return error;
    }
  }
  return {};
}

// RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2, whose hello may stop before the extensions).
std::string_view parse_hello(Bytes body, ClientHello& hello) {
  Reader r(body);
  std::size_t version = 0;
  Bytes random, session_id, cipher_suites, compression, extensions;
  if (!r.read_number(2, version) || !r.read(32, random)) {
    return "client hello ends before the session id";
  }
  if (!r.read_vector(1, session_id)) {
    return "session id runs past the client hello";
  }
  if (session_id.size() > 32) {  // legacy_session_id<0..32>
    return "session id longer than 32 bytes";
  }
  if (!r.read_vector(2, cipher_suites)) {
    return "cipher suites run past the client hello";
  }
  if (cipher_suites.empty() || cipher_suites.size() % 2 != 0) {  // cipher_suites<2..2^16-2>
    return "cipher suites length odd or zero";
  }
  if (!r.read_vector(1, compression)) {
    return "compression methods run past the client hello";
  }
  if (compression.empty()) {  // legacy_compression_methods<1..2^8-1>
    return "no compression methods";
  }
  hello.legacy_version = static_cast<std::uint16_t>(version);
  if (r.empty()) {
    return {};
  }
  if (!r.read_vector(2, extensions)) {
    return "extensions run past the client hello";
  }
  if (!r.empty()) {
    return "bytes after the extensions";
  }
  return parse_extensions(extensions, hello);
}

}  // namespace

Peek peek_client_hello(std::span<const std::uint8_t> bytes) {
  Peek peek;
  const Framing framing = locate_message(bytes);
  if (framing.status != PeekStatus::client_hello) {
    peek.status = framing.status;
    peek.detail = framing.detail;
    return peek;
  }
  std::vector<std::uint8_t> storage;
  if (auto error = parse_hello(gather_body(bytes, framing, storage), peek.hello); !error.empty()) {
    peek.status = PeekStatus::malformed;
    peek.detail = error;
    peek.hello = {};
    return peek;
  }
  peek.status = PeekStatus::client_hello;
  return peek;
}

}  // namespace hallpass::tls
