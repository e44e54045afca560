// "METHOD URL" lines, as rule examples and decision tables write requests:
// "GET https://host/path", "POST http://host/path", "CONNECT host:port".
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "proxy/http/target.hpp"

namespace hallpass::testing_support {

struct RequestText {
  std::string method;
  http::Target target;
};

// An https:// URL is judged as the request it would carry inside its tunnel (port 443).
inline RequestText parse_request_text(const std::string& text) {
  auto space = text.find(' ');
  RequestText out{text.substr(0, space), {}};
  auto url = text.substr(space + 1);
  std::optional<http::Target> target;
  if (out.method == "CONNECT") {
    target = http::parse_connect_target(url).target;
  } else {
    bool https = url.starts_with("https://");
    target = http::parse_absolute_target(https ? "http://" + url.substr(8) : url).target;
    if (target && https) {
      target->port = 443;
    }
  }
  EXPECT_TRUE(target.has_value()) << "not a request line: " << text;
  if (target) {
    out.target = *target;
  }
  return out;
}

}  // namespace hallpass::testing_support
