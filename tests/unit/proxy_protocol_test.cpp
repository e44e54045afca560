#include "proxy/accept/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hallpass::accept {
namespace {

using Status = ProxyHeader::Status;

const std::string kSignature{"\r\n\r\n\0\r\nQUIT\n", 12};

std::string v2(unsigned char version_command, unsigned char family, const std::string& body) {
  std::string header = kSignature;
  header.push_back(static_cast<char>(version_command));
  header.push_back(static_cast<char>(family));
  header.push_back(static_cast<char>(body.size() >> 8));
  header.push_back(static_cast<char>(body.size() & 0xFF));
  return header + body;
}

std::string v2_tcp4(std::string tlvs = {}) {
  // 10.20.16.5:40000 -> 10.0.0.11:3128, then optional TLVs the parser must skip.
  std::string body{"\x0a\x14\x10\x05\x0a\x00\x00\x0b\x9c\x40\x0c\x38", 12};
  return v2(0x21, 0x11, body + tlvs);
}

TEST(ProxyProtocol, V1Tcp4NamesTheClientAndLeavesTheRequest) {
  std::string bytes =
      "PROXY TCP4 10.10.16.7 10.0.0.11 51000 3128\r\nGET http://a.test/ HTTP/1.1\r\n";
  auto header = parse_proxy_header(bytes);
  ASSERT_EQ(header.status, Status::ok);
  EXPECT_EQ(bytes.substr(header.length, 3), "GET");
  ASSERT_TRUE(header.source);
  EXPECT_EQ(header.source->to_string(), "10.10.16.7");
}

TEST(ProxyProtocol, V1Tcp6) {
  auto header = parse_proxy_header("PROXY TCP6 2001:db8::7 2001:db8::1 51000 3128\r\n");
  ASSERT_EQ(header.status, Status::ok);
  EXPECT_EQ(header.source->to_string(), "2001:db8::7");
}

TEST(ProxyProtocol, V1UnknownIsTheBalancersOwnConnection) {
  auto header = parse_proxy_header("PROXY UNKNOWN\r\n");
  ASSERT_EQ(header.status, Status::ok);
  EXPECT_FALSE(header.source);
  EXPECT_EQ(header.length, 15u);
}

TEST(ProxyProtocol, EveryPrefixOfAHeaderAsksForMore) {
  for (const std::string& whole :
       {std::string("PROXY TCP4 10.10.16.7 10.0.0.11 51000 3128\r\n"), v2_tcp4("\x04\x00\x01x")}) {
    for (std::size_t n = 0; n < whole.size(); ++n) {
      EXPECT_EQ(parse_proxy_header(whole.substr(0, n)).status, Status::need_more) << n;
      EXPECT_TRUE(looks_like_proxy_header(whole.substr(0, n)) || n == 0) << n;
    }
    EXPECT_EQ(parse_proxy_header(whole).status, Status::ok);
    EXPECT_EQ(parse_proxy_header(whole).length, whole.size());
  }
}

TEST(ProxyProtocol, MalformedV1IsInvalid) {
  for (const char* bad : {
           "PROXY TCP4 10.10.16.7 10.0.0.11 51000\r\n",         // a field missing
           "PROXY TCP4 10.10.16.7  10.0.0.11 51000 3128\r\n",   // two spaces
           "PROXY TCP4 2001:db8::7 10.0.0.11 51000 3128\r\n",   // v6 address under TCP4
           "PROXY TCP4 10.10.16.7 10.0.0.11 65536 3128\r\n",    // port out of range
           "PROXY TCP4 10.10.16.7 10.0.0.11 051000 3128\r\n",   // leading zero
           "PROXY UDP4 10.10.16.7 10.0.0.11 51000 3128\r\n",    // not TCP
           "PROXY TCP4 10.10.16.777 10.0.0.11 51000 3128\r\n",  // not an address
       }) {
    EXPECT_EQ(parse_proxy_header(bad).status, Status::invalid) << bad;
  }
  // No CRLF within the longest legal header: invalid, not "read forever".
  EXPECT_EQ(parse_proxy_header("PROXY TCP4 " + std::string(120, '1')).status, Status::invalid);
}

TEST(ProxyProtocol, V2Tcp4WithTlvs) {
  auto bytes = v2_tcp4(std::string("\x04\x00\x02xy", 5)) + "GET";
  auto header = parse_proxy_header(bytes);
  ASSERT_EQ(header.status, Status::ok);
  EXPECT_EQ(header.source->to_string(), "10.20.16.5");
  EXPECT_EQ(bytes.substr(header.length), "GET");
}

TEST(ProxyProtocol, V2Tcp6) {
  std::string body(36, '\0');
  body[0] = '\x20';
  body[1] = '\x01';
  body[2] = '\x0d';
  body[3] = '\xb8';
  body[15] = '\x07';
  auto header = parse_proxy_header(v2(0x21, 0x21, body));
  ASSERT_EQ(header.status, Status::ok);
  EXPECT_EQ(header.source->to_string(), "2001:db8::7");
}

TEST(ProxyProtocol, V2LocalAndUnspecAreTheBalancersOwn) {
  auto local = parse_proxy_header(v2(0x20, 0x00, ""));
  ASSERT_EQ(local.status, Status::ok);
  EXPECT_FALSE(local.source);
  auto unspec = parse_proxy_header(v2(0x21, 0x00, ""));
  ASSERT_EQ(unspec.status, Status::ok);
  EXPECT_FALSE(unspec.source);
}

TEST(ProxyProtocol, MalformedV2IsInvalid) {
  EXPECT_EQ(parse_proxy_header(v2(0x11, 0x11, std::string(12, '\0'))).status, Status::invalid);
  EXPECT_EQ(parse_proxy_header(v2(0x22, 0x11, std::string(12, '\0'))).status, Status::invalid);
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, std::string(8, '\0'))).status, Status::invalid);
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x12, std::string(12, '\0'))).status, Status::invalid);
  EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, std::string(1000, '\0'))).status, Status::invalid);
}

TEST(ProxyProtocol, OrdinaryRequestsAreAbsent) {
  EXPECT_EQ(parse_proxy_header("GET http://a.test/ HTTP/1.1\r\n").status, Status::absent);
  EXPECT_EQ(parse_proxy_header("CONNECT a.test:443 HTTP/1.1\r\n").status, Status::absent);
  EXPECT_EQ(parse_proxy_header("\r\n\r\nGET").status, Status::absent);
  EXPECT_FALSE(looks_like_proxy_header("PROXX"));
  EXPECT_FALSE(looks_like_proxy_header("GET / HTTP/1.1"));
}

TEST(ProxyProtocol, TrustedBalancersByNetwork) {
  std::vector<filters::IpNetwork> trusted = {*filters::IpNetwork::parse("10.0.0.0/30")};
  EXPECT_TRUE(is_trusted_balancer(trusted, *filters::IpAddress::parse("10.0.0.2")));
  EXPECT_FALSE(is_trusted_balancer(trusted, *filters::IpAddress::parse("10.0.0.4")));
  EXPECT_FALSE(is_trusted_balancer({}, *filters::IpAddress::parse("10.0.0.2")));
}

}  // namespace
}  // namespace hallpass::accept
