// Keyed pseudonyms for audit lines: stable per key, distinct per input, reproducible with the
// openssl CLI (docs/audit.md shows how), and never the input itself.
#include "proxy/record/pseudonym.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hallpass::record {
namespace {

const std::string kKey(64, 'k');

TEST(Pseudonym, MatchesHmacSha256OfKindAndValue) {
  Pseudonymizer p(kKey);
  // printf 'client:10.10.16.5' | openssl dgst -sha256 -hmac "$(printf 'k%.0s' {1..64})"
  EXPECT_EQ(p.client("10.10.16.5").view(), "c-ad4bbd4fd97b7039");
  EXPECT_EQ(p.client("10.10.16.5").view().size(), 18u);
}

TEST(Pseudonym, StableForAKeyAndDistinctAcrossInputsKindsAndKeys) {
  Pseudonymizer p(kKey);
  Pseudonymizer other(std::string(64, 'q'));
  auto a = p.client("127.0.0.2");
  EXPECT_EQ(a.view(), p.client("127.0.0.2").view());
  EXPECT_NE(a.view(), p.client("127.0.0.3").view());
  EXPECT_NE(a.view(), other.client("127.0.0.2").view());
  EXPECT_TRUE(a.view().starts_with("c-"));
  auto u = p.user("127.0.0.2");
  EXPECT_TRUE(u.view().starts_with("u-"));
  EXPECT_NE(u.view().substr(2), a.view().substr(2)) << "a user named like an address";
  EXPECT_EQ(a.view().find_first_not_of("c-0123456789abcdef"), std::string::npos);
}

TEST(Pseudonym, EmptyAndLongInputs) {
  Pseudonymizer p(kKey);
  EXPECT_NE(p.user("").view(), p.user(std::string(10000, 'a')).view());
}

}  // namespace
}  // namespace hallpass::record
