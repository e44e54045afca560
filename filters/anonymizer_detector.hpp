// Anonymizer detection beyond the lists: web-proxy URL signatures, CONNECT to a bare IP
// address, DNS-over-HTTPS. Each method has its own reason code so IT can see which one
// fires (and a district can trial a new signature set in monitor mode).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "filters/pattern_set.hpp"
#include "filters/policy_spec.hpp"
#include "filters/types.hpp"

namespace hallpass::filters {

struct Detection {
  std::string_view reason_code;  // empty: nothing detected
  std::string_view rule;         // signature id, or a fixed name for built-in checks
};

class AnonymizerDetector {
 public:
  AnonymizerDetector() = default;
  explicit AnonymizerDetector(const std::vector<SignatureSpec>& signatures);

  // `url` is "host/normalized-path?query" (empty for CONNECT).
  // `path` is the normalized path and query (filters/url_path.hpp), `url` the host and it.
  Detection detect(const Request& request, std::string_view path, std::string_view url) const;
  std::size_t size() const { return ids_.size(); }

 private:
  std::vector<std::string> ids_;
  PatternSet urls_;
};

}  // namespace hallpass::filters
