#include "bench/content_bodies.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

namespace hallpass::bench {
namespace {

constexpr const char* kSchoolWords[] = {
    "the",      "homework", "is",      "due",    "tomorrow", "can",     "you",    "send",
    "me",       "notes",    "from",    "class",  "we",       "should",  "meet",   "at",
    "library",  "after",    "school",  "game",   "was",      "awesome", "did",    "see",
    "teacher",  "said",     "project", "group",  "chapter",  "science", "math",   "lunch",
    "practice", "coach",    "weekend", "movie",  "really",   "funny",   "thanks", "okay",
    "history",  "essay",    "quiz",    "friday", "bus",      "late",    "music",  "band"};

constexpr const char* kRisky[] = {"i want to kill myself",       "call me at 617-555-0123",
                                  "nobody likes you loser",      "selling carts 35$ a gram",
                                  "my address is 12 Elm Street", "send nudes"};

// Every cookie of every fortune file, one line each. A file holds cookies separated by
// lines of "%"; the ".dat" files are their indexes and the ".u8" names links to the same
// files. Sorted by path so the corpus does not depend on directory order.
std::vector<std::string> fortune_cookies() {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(kFortunesDirectory, error)) {
    auto extension = entry.path().extension();
    if (entry.is_regular_file() && !entry.is_symlink() && extension != ".dat" &&
        extension != ".u8") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> cookies;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream all;
    all << in.rdbuf();
    std::string line;
    std::string cookie;
    while (std::getline(all, line)) {
      if (line == "%") {
        if (!cookie.empty()) {
          cookies.push_back(std::move(cookie));
        }
        cookie.clear();
        continue;
      }
      std::replace(line.begin(), line.end(), '\t', ' ');
      cookie += cookie.empty() ? line : " " + line;
    }
    if (!cookie.empty()) {
      cookies.push_back(std::move(cookie));
    }
  }
  return cookies;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

// As a browser encodes a form field: letters, digits and ".-_*" as they are, '+' for a
// space, %XX for the rest.
std::string form_value(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '.' || c == '-' || c == '_' || c == '*') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

}  // namespace

std::optional<std::vector<Body>> make_bodies(std::size_t total, Vocabulary vocabulary) {
  std::vector<std::string> cookies;
  if (vocabulary == Vocabulary::fortunes) {
    cookies = fortune_cookies();
    if (cookies.empty()) {
      return std::nullopt;
    }
  }
  std::mt19937_64 random(7);
  std::vector<Body> bodies;
  std::size_t made = 0;
  while (made < total) {
    std::string text;
    if (vocabulary == Vocabulary::school_words) {
      auto words = 30 + random() % 600;
      for (std::size_t i = 0; i < words; ++i) {
        text += kSchoolWords[random() % std::size(kSchoolWords)];
        text += i % 17 == 16 ? ". " : " ";
      }
    } else {
      // The same spread of lengths as the school words: 150 to ~3,600 bytes.
      auto length = 150 + random() % 3500;
      while (text.size() < length) {
        text += cookies[random() % cookies.size()];
        text += ' ';
      }
    }
    if (random() % 100 < 3) {
      text.insert(random() % text.size(),
                  std::string(" ") + kRisky[random() % std::size(kRisky)] + " ");
    }
    Body body;
    switch (random() % 3) {
      case 0:
        body = {filters::BodyDecoder::Kind::json, "{\"thread\":\"" + std::to_string(random()) +
                                                      "\",\"text\":" + json_string(text) + "}"};
        break;
      case 1:
        body = {filters::BodyDecoder::Kind::form,
                "thread=" + std::to_string(random()) + "&message=" + form_value(text)};
        break;
      default:
        body = {filters::BodyDecoder::Kind::text, text};
    }
    made += body.bytes.size();
    bodies.push_back(std::move(body));
  }
  return bodies;
}

}  // namespace hallpass::bench
