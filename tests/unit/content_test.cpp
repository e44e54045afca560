// Content flagging: the normalizer, the body decoders, streaming scans across pieces, every
// shipped pattern's examples, and what policies make of the scores.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "filters/body_decoder.hpp"
#include "filters/load_error.hpp"
#include "filters/text_normalizer.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"

namespace hallpass {
namespace {

using filters::BodyDecoder;
using filters::TextNormalizer;

struct TextCase {
  const char* in;
  const char* out;
};

class Normalizer : public testing::TestWithParam<TextCase> {};

TEST_P(Normalizer, Whole) {
  EXPECT_EQ(TextNormalizer::normalize(GetParam().in), GetParam().out);
}

// A word split between two pieces of a body normalizes as if it came whole.
TEST_P(Normalizer, SplitAtEveryPoint) {
  std::string in = GetParam().in;
  for (std::size_t cut = 0; cut <= in.size(); ++cut) {
    TextNormalizer normalizer;
    std::string out;
    normalizer.feed(std::string_view(in).substr(0, cut), out);
    normalizer.feed(std::string_view(in).substr(cut), out);
    normalizer.finish(out);
    EXPECT_EQ(out, GetParam().out) << "cut at " << cut;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, Normalizer,
    testing::Values(TextCase{"I Want To DIE", "i want to die"},
                    TextCase{"k1ll mys3lf", "kill myself"}, TextCase{"h4te y0u", "hate you"},
                    TextCase{"s.u.i.c.i.d.e", "suicide"}, TextCase{"k-i-l-l   me", "kill me"},
                    TextCase{"f*ck", "fck"}, TextCase{"617-555-0123", "617-555-0123"},
                    TextCase{"class of 2024!", "class of 2024!"},
                    TextCase{"w33d $ale", "weed sale"}, TextCase{"e.g. 3.14", "eg. 3.14"},
                    TextCase{"  tabs\t\tand\nlines  ", "tabs and lines "},
                    TextCase{"café", "café"}));

struct DecodeCase {
  BodyDecoder::Kind kind;
  const char* in;
  const char* out;
};

class Decoder : public testing::TestWithParam<DecodeCase> {};

TEST_P(Decoder, SplitAtEveryPoint) {
  std::string in = GetParam().in;
  for (std::size_t cut = 0; cut <= in.size(); ++cut) {
    BodyDecoder decoder(GetParam().kind);
    std::string out;
    decoder.feed(std::string_view(in).substr(0, cut), out);
    decoder.feed(std::string_view(in).substr(cut), out);
    decoder.finish(out);
    EXPECT_EQ(out, GetParam().out) << "cut at " << cut;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, Decoder,
    testing::Values(DecodeCase{BodyDecoder::Kind::form, "message=i+want%20to+die&x=1",
                               "message i want to die\nx 1"},
                    DecodeCase{BodyDecoder::Kind::form, "a=%E2%9C%93+ok", "a \xE2\x9C\x93 ok"},
                    DecodeCase{BodyDecoder::Kind::form, "bad=%zz&end=%4", "bad %zz\nend %4"},
                    // a broken escape keeps its three bytes as written, '+' and '%' included
                    DecodeCase{BodyDecoder::Kind::form, "x=%+a&y=%%41", "x %+a\ny %%41"},
                    DecodeCase{BodyDecoder::Kind::json,
                               R"({"text":"i want\nto die","n":3,"t":["a\"b"]})",
                               "text\ni want to die\nn\nt\na\"b\n"},
                    DecodeCase{BodyDecoder::Kind::json, R"({"m":"\u0041\u00e9 \ud83d\ude00"})",
                               "m\nA\xC3\xA9 \xF0\x9F\x98\x80\n"},
                    DecodeCase{BodyDecoder::Kind::text, "plain words", "plain words"},
                    DecodeCase{BodyDecoder::Kind::binary, "\x89PNG\r\n", ""}));

// A browser's multipart post: two text fields and a file part between them, which is
// skipped. Split at every point, the text comes out the same.
TEST(MultipartDecoder, TextFieldsOnlyAtEverySplit) {
  constexpr std::string_view kType = "multipart/form-data; boundary=----WebKitFormBoundaryX9";
  std::string body =
      "------WebKitFormBoundaryX9\r\n"
      "Content-Disposition: form-data; name=\"caption\"\r\n\r\n"
      "first line\r\nsecond line\r\n"
      "------WebKitFormBoundaryX9\r\n"
      "Content-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n\r\n"
      "\xff\xd8 not text 617-555-0123\r\n"
      "------WebKitFormBoundaryX9\r\n"
      "Content-Disposition: form-data; name=\"note\"\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\n"
      "hello\r\n"
      "------WebKitFormBoundaryX9--\r\n";
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    auto decoder = BodyDecoder::for_content_type(kType);
    ASSERT_EQ(decoder.kind(), BodyDecoder::Kind::multipart);
    std::string out;
    decoder.feed(std::string_view(body).substr(0, cut), out);
    decoder.feed(std::string_view(body).substr(cut), out);
    decoder.finish(out);
    EXPECT_EQ(out, "first line\r\nsecond line\nhello\n") << "cut at " << cut;
  }
}

TEST(MultipartDecoder, Boundary) {
  EXPECT_EQ(filters::MultipartText::boundary_of("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(filters::MultipartText::boundary_of("multipart/form-data; BOUNDARY=\"a b\"; x=1"),
            "a b");
  EXPECT_EQ(BodyDecoder::kind_for("multipart/form-data"), BodyDecoder::Kind::binary);
}

TEST(DecoderKind, FromContentType) {
  EXPECT_EQ(BodyDecoder::kind_for(""), BodyDecoder::Kind::text);
  EXPECT_EQ(BodyDecoder::kind_for("text/plain; charset=utf-8"), BodyDecoder::Kind::text);
  EXPECT_EQ(BodyDecoder::kind_for("Application/X-WWW-Form-Urlencoded"), BodyDecoder::Kind::form);
  EXPECT_EQ(BodyDecoder::kind_for("application/json;charset=UTF-8"), BodyDecoder::Kind::json);
  EXPECT_EQ(BodyDecoder::kind_for("application/vnd.api+json"), BodyDecoder::Kind::json);
  EXPECT_EQ(BodyDecoder::kind_for("image/jpeg"), BodyDecoder::Kind::binary);
  EXPECT_EQ(BodyDecoder::kind_for("application/octet-stream"), BodyDecoder::Kind::binary);
}

class ContentPolicy : public testing::Test {
 protected:
  std::shared_ptr<const filters::Policy> load(const std::string& yaml) {
    auto dir = testing::TempDir() + "hallpass_content/";
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "words.yaml") << R"(category: words
normalize: true
patterns:
  - {id: words-die, regex: '\bwant to die\b', flags: [caseless], weight: 100, severity: critical}
  - {id: words-mean, regex: '\bnobody likes you\b', flags: [caseless], weight: 30, severity: medium}
  - {id: words-loser, regex: '\bloser\b', flags: [caseless], weight: 30, severity: low}
)";
    std::ofstream(dir + "numbers.yaml") << R"(category: numbers
patterns:
  - {id: numbers-phone, regex: '\d{3}-\d{3}-\d{4}', weight: 40, severity: medium}
)";
    std::ofstream(dir + "hallpass.yaml")
        << "extends: default\n"
           "content:\n"
           "  patterns: {words: words.yaml, numbers: numbers.yaml}\n"
           "  thresholds:\n"
           "    words: {flag: 30, block: 60}\n"
           "    numbers: {flag: 40}\n"
        << yaml;
    return config::build_policy(config::load_config(dir + "hallpass.yaml"));
  }

  static filters::ContentVerdict scan(const filters::Policy& policy, const char* client,
                                      std::initializer_list<std::string_view> pieces) {
    filters::ContentScanner::Scan scan(policy.content_scanner());
    for (auto piece : pieces) {
      scan.feed(piece);
    }
    scan.finish();
    return policy.content_verdict(policy.identify(*filters::IpAddress::parse(client)), scan);
  }
};

TEST_F(ContentPolicy, ScoresAddUpPerCategoryAcrossPieces) {
  auto policy = load("");
  auto mild = scan(*policy, "10.10.16.5", {"you are a los", "er"});
  EXPECT_TRUE(mild.flag);
  EXPECT_FALSE(mild.block);
  EXPECT_EQ(mild.category, "words");
  EXPECT_EQ(mild.score, 30);
  auto both = scan(*policy, "10.10.16.5", {"loser, nobody ", "likes you. LOSER"});
  EXPECT_TRUE(both.block);
  EXPECT_EQ(both.score, 60);  // each pattern counts once per body
  auto words = std::count_if(both.flags.begin(), both.flags.end(),
                             [](const auto& f) { return f.category == "words"; });
  EXPECT_EQ(words, 2);  // the shipped bullying set may flag "nobody likes you" as well
  auto phone = scan(*policy, "10.10.16.5", {"call 617-555-", "0123"});
  EXPECT_TRUE(phone.flag);
  EXPECT_EQ(phone.category, "numbers");
  EXPECT_EQ(phone.pattern, "numbers-phone");
  EXPECT_FALSE(scan(*policy, "10.10.16.5", {"a kind note"}).flag);
}

TEST_F(ContentPolicy, PolicyOverridesTheDistrictThresholdsByKey) {
  auto policy = load(
      "policies:\n"
      "  student-strict: {content: {words: {block: 30, alert: 100}}}\n");
  auto strict = scan(*policy, "10.20.17.9", {"loser"});  // elementary student
  EXPECT_TRUE(strict.block);
  auto high_school = scan(*policy, "10.10.16.5", {"loser"});
  EXPECT_FALSE(high_school.block);
  EXPECT_TRUE(high_school.flag);
  auto danger = scan(*policy, "10.20.17.9", {"i want to die"});
  EXPECT_TRUE(danger.alert);
  EXPECT_EQ(danger.pattern, "words-die");
}

TEST_F(ContentPolicy, UrlBlockStandsAndContentDecidesOtherwise) {
  auto policy = load("");
  auto verdict = scan(*policy, "10.10.16.5", {"loser, nobody likes you"});
  filters::Decision url_block;
  url_block.action = filters::Action::block;
  url_block.reason_code = "category_block";
  auto kept = filters::Policy::with_content(url_block, verdict);
  EXPECT_EQ(kept.reason_code, "category_block");
  EXPECT_TRUE(kept.flagged);
  auto content = filters::Policy::with_content(filters::Decision{}, verdict);
  EXPECT_EQ(content.action, filters::Action::block);
  EXPECT_EQ(content.step, filters::Step::content);
  EXPECT_EQ(content.reason_code, "content_block");
  EXPECT_EQ(content.category, "words");
}

TEST_F(ContentPolicy, ErrorsNameTheFileAndLine) {
  auto dir = testing::TempDir() + "hallpass_content_bad/";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "unknown.yaml") << "extends: default\n"
                                         "content: {thresholds: {nothing: {flag: 1}}}\n";
  try {
    config::build_policy(config::load_config(dir + "unknown.yaml"));
    FAIL() << "loaded";
  } catch (const filters::LoadError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("no pattern set has the category \"nothing\""), std::string::npos) << what;
    EXPECT_NE(what.find("unknown.yaml:2"), std::string::npos) << what;
  }
  std::ofstream(dir + "bad.yaml")
      << "category: bad\npatterns:\n"
         "  - {id: bad-1, regex: 'ok', weight: 1, severity: low}\n"
         "  - {id: bad-2, regex: '(unclosed', weight: 1, severity: low}\n";
  std::ofstream(dir + "hallpass.yaml")
      << "extends: default\ncontent: {patterns: {bad: bad.yaml}}\n";
  try {
    config::build_policy(config::load_config(dir + "hallpass.yaml"));
    FAIL() << "loaded";
  } catch (const filters::LoadError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("bad.yaml:4"), std::string::npos) << what;
    EXPECT_NE(what.find("(unclosed"), std::string::npos) << what;
  }
}

// Every shipped pattern's examples, scanned as a body would be: each `match` example
// matches its own pattern, no `no_match` example does. Each is scanned four ways, which
// must agree: whole (block mode), streamed in one piece, streamed a byte at a time, and
// kept whole for its first half then streamed (the switch a long body makes).
TEST(ShippedPatterns, EveryExample) {
  auto config = config::load_config(std::string(config::kEmbeddedDefault));
  auto policy = config::build_policy(config);
  const auto& scanner = policy->content_scanner();
  ASSERT_FALSE(scanner.empty());
  std::size_t checked = 0;
  for (const auto& spec : config.policy.content_patterns) {
    auto index = std::find_if(scanner.patterns().begin(), scanner.patterns().end(),
                              [&](const auto& p) { return p.id == spec.id; }) -
                 scanner.patterns().begin();
    auto matches = [&](const std::string& text) {
      auto found = [&](const filters::ContentScanner::Scan& scan) {
        const auto& matched = scan.matched();
        return std::find(matched.begin(), matched.end(), index) != matched.end();
      };
      filters::ContentScanner::Scan whole(scanner);
      filters::ContentScanner::Scan streamed(scanner, 0);
      filters::ContentScanner::Scan bytewise(scanner, 0);
      filters::ContentScanner::Scan switched(scanner, text.size() / 2);
      whole.feed(text);
      streamed.feed(text);
      for (char c : text) {
        bytewise.feed(std::string_view(&c, 1));
      }
      switched.feed(std::string_view(text).substr(0, text.size() / 2));
      switched.feed(std::string_view(text).substr(text.size() / 2));
      for (auto* scan : {&whole, &streamed, &bytewise, &switched}) {
        scan->finish();
      }
      EXPECT_EQ(found(whole), found(streamed)) << spec.id << " streamed: " << text;
      EXPECT_EQ(found(whole), found(bytewise)) << spec.id << " a byte at a time: " << text;
      EXPECT_EQ(found(whole), found(switched)) << spec.id << " whole, then streamed: " << text;
      return found(whole);
    };
    EXPECT_GE(spec.examples.match.size(), 2u) << spec.id;
    EXPECT_GE(spec.examples.no_match.size(), 2u) << spec.id;
    for (const auto& text : spec.examples.match) {
      EXPECT_TRUE(matches(text)) << spec.id << " should match: " << text;
      ++checked;
    }
    for (const auto& text : spec.examples.no_match) {
      EXPECT_FALSE(matches(text)) << spec.id << " should not match: " << text;
      ++checked;
    }
  }
  EXPECT_GE(checked, 400u);
}

}  // namespace
}  // namespace hallpass
