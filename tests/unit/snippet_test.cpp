#include "filters/snippet.hpp"

#include <gtest/gtest.h>

namespace hallpass::filters {
namespace {

TEST(MaskedSnippet, DigitsAndEmailAddressesAreMasked) {
  std::string text = "text me at 617-555-0123 or jo.doe@example.com ok";
  EXPECT_EQ(masked_snippet(text, text.size()), "text me at ###-###-#### or **.***@*******.*** ok");
}

TEST(MaskedSnippet, EndsAtTheMatchAndKeepsOnlyTheLastBytes) {
  std::string text(100, 'a');
  text += " the end";
  auto snippet = masked_snippet(text, text.size() - 4);
  EXPECT_EQ(snippet.size(), kSnippetBytes);
  EXPECT_TRUE(snippet.ends_with("a the")) << snippet;
}

TEST(MaskedSnippet, NeverStartsInsideACharacterAndFlattensLines) {
  std::string text = std::string(kSnippetBytes - 1, 'x') + "\xC3\xA9" + "\nnext\tline";
  auto snippet = masked_snippet(text, text.size());
  EXPECT_NE(static_cast<unsigned char>(snippet[0]) & 0xC0, 0x80);
  EXPECT_TRUE(snippet.ends_with(" next line")) << snippet;
}

TEST(MaskedSnippet, AnEndPastTheTextIsClamped) {
  EXPECT_EQ(masked_snippet("abc", 99), "abc");
  EXPECT_EQ(masked_snippet("", 0), "");
}

}  // namespace
}  // namespace hallpass::filters
