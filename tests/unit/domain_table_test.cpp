#include "filters/domain_table.hpp"

#include <gtest/gtest.h>

#include "filters/domain_list.hpp"
#include "filters/load_error.hpp"

namespace hallpass::filters {
namespace {

TEST(DomainTable, MatchesOnLabelBoundariesOnly) {
  DomainTable table;
  table.insert("blocked.test", 0);
  EXPECT_EQ(table.find("blocked.test"), "blocked.test");
  EXPECT_EQ(table.find("a.b.blocked.test"), "blocked.test");
  EXPECT_EQ(table.find("notblocked.test"), "");
  EXPECT_EQ(table.find("blocked.test.evil.example"), "");
  EXPECT_EQ(table.find("test"), "");
}

TEST(DomainTable, ReportsMostSpecificEntryFirstWithEveryCategory) {
  DomainTable table;
  table.insert("example.com", 1);
  table.insert("mail.example.com", 2);
  table.insert("mail.example.com", 3);
  std::vector<std::pair<std::string, std::vector<CategoryId>>> seen;
  table.for_each_match("x.mail.example.com", [&](std::string_view entry, auto ids) {
    seen.emplace_back(std::string(entry), std::vector<CategoryId>(ids.begin(), ids.end()));
    return true;
  });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "mail.example.com");
  EXPECT_EQ(seen[0].second, (std::vector<CategoryId>{2, 3}));
  EXPECT_EQ(seen[1].first, "example.com");
  EXPECT_EQ(seen[1].second, (std::vector<CategoryId>{1}));
}

TEST(DomainList, ReadsUt1LayoutWithCommentsAndOddSpacing) {
  DomainTable table;
  auto added = load_domain_list(
      "# header\n\nExample.COM\n  .leading.test  \nfqdn.test.\r\n"
      "ok.test # trailing comment\n10.1.2.3\n",
      "list/domains", 7, table);
  EXPECT_EQ(added, 5u);
  EXPECT_EQ(table.find("www.example.com"), "example.com");
  EXPECT_EQ(table.find("leading.test"), "leading.test");
  EXPECT_EQ(table.find("fqdn.test"), "fqdn.test");
  EXPECT_EQ(table.find("ok.test"), "ok.test");
  EXPECT_EQ(table.find("10.1.2.3"), "10.1.2.3");
}

TEST(DomainList, NamesFileLineAndTextOfABadEntry) {
  DomainTable table;
  try {
    load_domain_list("good.test\n\nexa mple.com\n", "/lists/social/domains", 0, table);
    FAIL() << "a domain with a space was accepted";
  } catch (const LoadError& e) {
    EXPECT_EQ(e.file(), "/lists/social/domains");
    EXPECT_EQ(e.line(), 3);
    EXPECT_STREQ(e.what(), "/lists/social/domains:3: not a domain: \"exa mple.com\"");
  }
}

}  // namespace
}  // namespace hallpass::filters
