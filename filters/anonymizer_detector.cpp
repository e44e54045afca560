#include "filters/anonymizer_detector.hpp"

#include "filters/ip_address.hpp"

namespace hallpass::filters {

namespace {

bool contains_token(std::string_view header, std::string_view token) {
  // Media types are case-insensitive (RFC 9110 §8.3.1); header values here are short.
  if (header.size() < token.size()) {
    return false;
  }
  for (std::size_t i = 0; i + token.size() <= header.size(); ++i) {
    bool equal = true;
    for (std::size_t j = 0; j < token.size() && equal; ++j) {
      equal = (header[i + j] | 0x20) == (token[j] | 0x20);
    }
    if (equal) {
      return true;
    }
  }
  return false;
}

}  // namespace

AnonymizerDetector::AnonymizerDetector(const std::vector<SignatureSpec>& signatures) {
  std::vector<PatternSource> patterns;
  for (const auto& signature : signatures) {
    ids_.push_back(signature.id);
    patterns.push_back(
        {signature.url, true, signature.where.file + ":" + std::to_string(signature.where.line)});
  }
  urls_ = PatternSet(patterns);
}

Detection AnonymizerDetector::detect(const Request& request, std::string_view path,
                                     std::string_view url) const {
  if (request.method == "CONNECT") {
    // A tunnel to a bare address skips every name-based rule; browsers reach sites by name.
    if (IpAddress::parse(request.host)) {
      return {"anonymizer_ip_literal", "connect-ip-literal"};
    }
    return {};
  }
  // RFC 8484: DoH is a GET with ?dns= or a POST of application/dns-message, by
  // convention at /dns-query; the JSON flavour (Google, Cloudflare) asks for
  // application/dns-json at /resolve?name=. Any of these hides lookups from the district's
  // DNS filter. The path is the normalized one: "//dns-query" and "/%64ns-query" reach the
  // same handler.
  if (contains_token(request.content_type, "application/dns-message") ||
      contains_token(request.accept, "application/dns-message") ||
      contains_token(request.accept, "application/dns-json") || path.starts_with("/dns-query") ||
      (path.starts_with("/resolve?") && (path.find("?name=") != std::string_view::npos ||
                                         path.find("&name=") != std::string_view::npos))) {
    return {"anonymizer_doh", "dns-over-https"};
  }
  Detection found;
  std::size_t best = ids_.size();
  urls_.scan(url, [&](unsigned id) { best = std::min<std::size_t>(best, id); });
  if (best < ids_.size()) {
    found = {"anonymizer_signature", ids_[best]};
  }
  return found;
}

}  // namespace hallpass::filters
