#include "proxy/record/top_blocked.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hallpass::record {
namespace {

TEST(SpaceSaving, CountsExactlyWhileKeysFit) {
  SpaceSaving sketch(3);
  for (int i = 0; i < 5; ++i) {
    sketch.add("a.test");
  }
  sketch.add("b.test");
  sketch.add("b.test");
  sketch.add("c.test");
  auto top = sketch.top(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].key, "a.test");
  EXPECT_EQ(top[0].count, 5u);
  EXPECT_EQ(top[1].key, "b.test");
  EXPECT_EQ(top[1].count, 2u);
  EXPECT_EQ(top[2].key, "c.test");
  EXPECT_EQ(top[2].error, 0u);
  EXPECT_EQ(sketch.total(), 8u);
}

TEST(SpaceSaving, HeavyHitterSurvivesAStreamOfDistinctKeys) {
  SpaceSaving sketch(10);
  // One site blocked 1,000 times among 5,000 one-off hosts: far more keys than counters.
  for (int i = 0; i < 5000; ++i) {
    sketch.add("host" + std::to_string(i) + ".test");
    if (i % 5 == 0) {
      sketch.add("heavy.test");
    }
  }
  auto top = sketch.top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].key, "heavy.test");
  // Space-saving never underestimates, and overestimates by at most `error`.
  EXPECT_GE(top[0].count, 1000u);
  EXPECT_LE(top[0].count - top[0].error, 1000u);
  EXPECT_EQ(sketch.total(), 6000u);
}

TEST(SpaceSaving, TopIsLargestFirstAndBounded) {
  SpaceSaving sketch(50);
  for (int key = 0; key < 20; ++key) {
    for (int n = 0; n <= key; ++n) {
      sketch.add("k" + std::to_string(key));
    }
  }
  auto top = sketch.top(5);
  ASSERT_EQ(top.size(), 5u);
  EXPECT_EQ(top[0].key, "k19");
  EXPECT_EQ(top[4].key, "k15");
}

TEST(TopBlocked, GroupsByRegistrableDomainPerBuildingWithOther) {
  TopBlocked top(2, 10);
  top.add("high-school", "www.games.test");
  top.add("high-school", "cdn.games.test");
  top.add("high-school", "chat.example.com");
  top.add("high-school", "proxy.example.org");
  top.add("elementary", "www.games.test");
  auto rows = top.rows();
  auto blocks = [&](std::string_view building, std::string_view domain) -> long long {
    for (const auto& row : rows) {
      if (row.building == building && row.domain == domain) {
        return static_cast<long long>(row.blocks);
      }
    }
    return -1;
  };
  EXPECT_EQ(blocks("high-school", "games.test"), 2);
  EXPECT_EQ(blocks("high-school", "other"), 1);  // 4 blocks, 3 shown
  EXPECT_EQ(blocks("elementary", "games.test"), 1);
  EXPECT_EQ(blocks("elementary", "other"), 0);
  // Two shown and `other`, per building: the label count is bounded by construction.
  EXPECT_EQ(rows.size(), 5u);
}

}  // namespace
}  // namespace hallpass::record
