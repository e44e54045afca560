// The post bodies hallpass_content_bench scans: JSON chat messages, forms and plain text,
// about 3 % carrying a risky snippet, in two vocabularies (see content_bodies.cpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "filters/body_decoder.hpp"

namespace hallpass::bench {

struct Body {
  filters::BodyDecoder::Kind kind;
  std::string bytes;
};

enum class Vocabulary {
  // 48 school words drawn uniformly: the first corpus, kept so figures stay comparable
  // across sessions. Any word that trips a literal trips it about once in 48 words.
  school_words,
  // Real English sentences: the fortune-cookie files of Debian's `fortunes` package
  // (~2.5 MB of quotes, jokes and dialogue), a Zipf-distributed vocabulary.
  fortunes,
};

// Where the `fortunes` package puts its files.
inline constexpr const char* kFortunesDirectory = "/usr/share/games/fortunes";

// About `total` bytes of bodies, the same every run (fixed seed). Fortunes: nothing when
// kFortunesDirectory holds no cookies (deploy/install-deps.sh --bench installs them).
std::optional<std::vector<Body>> make_bodies(std::size_t total, Vocabulary vocabulary);

}  // namespace hallpass::bench
