#include "proxy/http/prescan.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hallpass::http {
namespace {

const HeadLimits kLimits{1024, 5, 200};

std::string head(const std::string& fields) {
  return "POST http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n" + fields + "\r\n";
}

struct RefusalCase {
  const char* name;
  std::string head;
  unsigned status;
  const char* reason;
};

void PrintTo(const RefusalCase& c, std::ostream* os) {
  *os << c.name;
}

class Prescan : public testing::TestWithParam<RefusalCase> {};

TEST_P(Prescan, RefusesAmbiguousOrOversizedHeads) {
  const auto& c = GetParam();
  auto refusal = prescan_head(c.head, kLimits);
  ASSERT_TRUE(refusal.has_value()) << c.name;
  EXPECT_EQ(refusal->status, c.status) << c.name;
  EXPECT_EQ(refusal->reason_code, c.reason) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Prescan,
    testing::Values(
        RefusalCase{"cl_and_te", head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400,
                    "content_length_with_transfer_encoding"},
        RefusalCase{"te_then_cl", head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400,
                    "content_length_with_transfer_encoding"},
        RefusalCase{"differing_cl", head("Content-Length: 5\r\nContent-Length: 6\r\n"), 400,
                    "conflicting_content_length"},
        RefusalCase{"cl_list", head("Content-Length: 5, 5\r\n"), 400, "bad_content_length"},
        RefusalCase{"cl_sign", head("Content-Length: +5\r\n"), 400, "bad_content_length"},
        RefusalCase{"te_gzip", head("Transfer-Encoding: gzip\r\n"), 400, "bad_transfer_encoding"},
        RefusalCase{"te_chain", head("Transfer-Encoding: chunked, identity\r\n"), 400,
                    "bad_transfer_encoding"},
        RefusalCase{"te_twice",
                    head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), 400,
                    "bad_transfer_encoding"},
        RefusalCase{"te_vertical_tab",
                    head("Transfer-Encoding:\x0b"
                         "chunked\r\n"),
                    400, "control_byte"},
        RefusalCase{"obs_fold", head("X-A: one\r\n two\r\n"), 400, "obs_fold"},
        RefusalCase{"space_before_colon", head("Content-Length : 5\r\n"), 400, "bad_header_name"},
        RefusalCase{"no_colon", head("Broken header\r\n"), 400, "bad_header_name"},
        RefusalCase{"control_in_value", head("X-A: a\x01z\r\n"), 400, "control_byte"},
        RefusalCase{"nul_in_value", head(std::string("X-A: a\0z\r\n", 10)), 400, "control_byte"},
        RefusalCase{"del_in_value", head("X-A: a\x7fz\r\n"), 400, "control_byte"},
        RefusalCase{"bare_lf", "GET http://a.test/ HTTP/1.1\nHost: a.test\r\n\r\n", 400, "bare_lf"},
        RefusalCase{"two_hosts", head("Host: other.test\r\n"), 400, "duplicate_host"},
        RefusalCase{"too_many", head("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n"), 431,
                    "too_many_headers"},
        RefusalCase{"long_line", head("X-Long: " + std::string(300, 'a') + "\r\n"), 431,
                    "header_too_long"},
        RefusalCase{"long_uri", "GET http://a.test/" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n",
                    414, "uri_too_long"},
        RefusalCase{"huge_head", head(std::string(2000, 'a')), 431, "head_too_large"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PrescanRefuses, TransferEncodingInHttp10) {
  auto refusal = prescan_head(
      "PUT http://a.test/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
      kLimits);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->reason_code, "transfer_encoding_in_http10");
  EXPECT_FALSE(prescan_head("PUT http://a.test/ HTTP/1.0\r\nContent-Length: 1\r\n\r\n", kLimits));
}

struct UnfinishedCase {
  const char* name;
  std::string data;  // what was read when the head reached max_head_bytes
  unsigned status;
  const char* reason;
};

void PrintTo(const UnfinishedCase& c, std::ostream* os) {
  *os << c.name;
}

class UnfinishedHead : public testing::TestWithParam<UnfinishedCase> {};

TEST_P(UnfinishedHead, NamesTheLineThatGrewTooLong) {
  const auto& c = GetParam();
  auto refusal = refuse_unfinished_head(c.data, kLimits);
  EXPECT_EQ(refusal.status, c.status);
  EXPECT_EQ(refusal.reason_code, c.reason);
}

INSTANTIATE_TEST_SUITE_P(
    Table, UnfinishedHead,
    testing::Values(
        UnfinishedCase{"request_line", "GET http://a.test/" + std::string(1000, 'a'), 414,
                       "uri_too_long"},
        UnfinishedCase{"header_line", "GET / HTTP/1.1\r\nX-A: " + std::string(1000, 'a'), 431,
                       "header_too_long"},
        UnfinishedCase{"many_short_lines", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3", 431,
                       "head_too_large"},
        UnfinishedCase{"fault_in_a_complete_line",
                       "GET / HTTP/1.1\r\nX-A: one\r\n folded\r\nX-B: " + std::string(900, 'b'),
                       400, "obs_fold"},
        UnfinishedCase{"bare_lf_in_the_last_line", "GET / HTTP/1.1\r\nX-A: 1\nX-B", 400,
                       "bare_lf"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PrescanAccepts, OrdinaryRequests) {
  EXPECT_FALSE(prescan_head(head(""), kLimits));
  EXPECT_FALSE(prescan_head(head("Content-Length: 5\r\n"), kLimits));
  EXPECT_FALSE(prescan_head(head("Content-Length: 5\r\nContent-Length: 5\r\n"), kLimits));
  EXPECT_FALSE(prescan_head(head("Transfer-Encoding: Chunked\r\n"), kLimits));
  EXPECT_FALSE(prescan_head(head("X-Tabbed:\tvalue\t\r\nAccept: */*\r\n"), kLimits));
}

}  // namespace
}  // namespace hallpass::http
