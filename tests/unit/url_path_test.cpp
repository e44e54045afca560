#include "filters/url_path.hpp"

#include <gtest/gtest.h>

namespace hallpass::filters {
namespace {

struct PathCase {
  const char* input;
  const char* expected;
};

void PrintTo(const PathCase& c, std::ostream* os) {
  *os << c.input;
}

class NormalizePath : public testing::TestWithParam<PathCase> {};

TEST_P(NormalizePath, GivesTheFormRulesMatch) {
  EXPECT_EQ(normalize_path(GetParam().input), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, NormalizePath,
    testing::Values(PathCase{"/", "/"}, PathCase{"", "/"}, PathCase{"/a/b", "/a/b"},
                    PathCase{"//direct//inbox/", "/direct/inbox/"},
                    PathCase{"/%64irect/", "/direct/"}, PathCase{"/%7Euser", "/~user"},
                    PathCase{"/a%2Fb", "/a%2Fb"},  // an encoded slash is data, not a separator
                    PathCase{"/a%2fb", "/a%2fb"}, PathCase{"/x/../direct/", "/direct/"},
                    PathCase{"/x/./y", "/x/y"}, PathCase{"/a/b/..", "/a/"},
                    PathCase{"/../../etc", "/etc"}, PathCase{"/a/.", "/a/"}, PathCase{"/..", "/"},
                    PathCase{"/a..b/", "/a..b/"},
                    PathCase{"/p?q=%61&x=../y", "/p?q=a&x=../y"},  // the query keeps its dots
                    PathCase{"/p?u=https%3A%2F%2Fa", "/p?u=https%3A%2F%2Fa"},
                    PathCase{"/bad%zz/%4", "/bad%zz/%4"}));

}  // namespace
}  // namespace hallpass::filters
