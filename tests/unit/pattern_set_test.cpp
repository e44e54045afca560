#include "filters/pattern_set.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "filters/load_error.hpp"

namespace hallpass::filters {
namespace {

std::set<unsigned> matches(const PatternSet& set, std::string_view text) {
  std::set<unsigned> ids;
  set.scan(text, [&](unsigned id) { EXPECT_TRUE(ids.insert(id).second) << "id twice: " << id; });
  return ids;
}

TEST(PatternSet, ReportsEachMatchingPatternOnceCaselessByDefault) {
  PatternSet set(
      {{"^/direct(/|$)", true, "t:1"}, {"messages", true, "t:2"}, {"Exact", false, "t:3"}});
  EXPECT_EQ(matches(set, "/DIRECT/inbox"), (std::set<unsigned>{0}));
  EXPECT_EQ(matches(set, "/messages/messages/messages"), (std::set<unsigned>{1}));
  EXPECT_EQ(matches(set, "/exact"), (std::set<unsigned>{}));
  EXPECT_EQ(matches(set, "/Exact/direct"), (std::set<unsigned>{2}));
  EXPECT_EQ(matches(set, ""), (std::set<unsigned>{}));
}

TEST(PatternSet, NamesTheBadPatternAndWhereItCameFrom) {
  try {
    PatternSet set({{"fine", true, "rules.yaml:3"}, {"(unclosed", true, "rules.yaml:9"}});
    FAIL() << "an invalid pattern compiled";
  } catch (const LoadError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind("rules.yaml:9: pattern \"(unclosed\": ", 0), 0u) << what;
  }
}

TEST(PatternSet, ScansFromSeveralThreadsAndAcrossDatabases) {
  PatternSet small({{"a", true, "s:1"}});
  PatternSet large({{"b", true, "l:1"}, {"c.*d", true, "l:2"}, {"[0-9]{3}-[0-9]{4}", true, "l:3"}});
  auto work = [&] {
    for (int i = 0; i < 200; ++i) {
      EXPECT_EQ(matches(small, "xax"), (std::set<unsigned>{0}));
      EXPECT_EQ(matches(large, "call 555-1234 d b"), (std::set<unsigned>{0, 1, 2}));
    }
  };
  std::thread one(work);
  std::thread two(work);
  one.join();
  two.join();
}

TEST(PatternSet, EmptySetMatchesNothing) {
  PatternSet empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(matches(empty, "anything").empty());
}

}  // namespace
}  // namespace hallpass::filters
