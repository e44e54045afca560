#include "proxy/websocket/extensions.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

namespace hallpass::websocket {

namespace {

struct Param {
  std::string_view name;
  std::optional<std::string> value;  // unquoted
};

struct Extension {
  std::string_view name;
  std::vector<Param> params;
};

// RFC 9110 §5.6.2
bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Splits at each `separator` outside a quoted-string: `x="a,b"` is one element.
std::vector<std::string_view> split_outside_quotes(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  bool escaped = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (escaped) {
      escaped = false;
    } else if (quoted) {
      escaped = c == '\\';
      quoted = c != '"';
    } else if (c == '"') {
      quoted = true;
    } else if (c == separator) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

// A token, or a quoted-string whose unquoted value is a token (RFC 6455 §9.1 requires that
// of quoted extension parameter values).
std::optional<std::string> parse_value(std::string_view text) {
  if (is_token(text)) {
    return std::string(text);
  }
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    return std::nullopt;
  }
  std::string value;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\') {
      if (++i + 1 == text.size()) {
        return std::nullopt;  // the closing quote was escaped
      }
    } else if (text[i] == '"') {
      return std::nullopt;
    }
    value += text[i];
  }
  if (!is_token(value)) {
    return std::nullopt;
  }
  return value;
}

// extension = extension-token *( ";" extension-param ), whitespace allowed around ";" and "=".
std::optional<Extension> parse_extension(std::string_view element) {
  auto parts = split_outside_quotes(element, ';');
  Extension extension{trim(parts[0]), {}};
  if (!is_token(extension.name)) {
    return std::nullopt;
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto part = trim(parts[i]);
    auto equals = part.find('=');
    Param param{trim(part.substr(0, equals)), std::nullopt};
    if (!is_token(param.name)) {
      return std::nullopt;
    }
    if (equals != std::string_view::npos) {
      param.value = parse_value(trim(part.substr(equals + 1)));
      if (!param.value) {
        return std::nullopt;
      }
    }
    extension.params.push_back(std::move(param));
  }
  return extension;
}

// RFC 7692 §7.1.2: 8 to 15, no leading zero.
bool is_window_bits(const std::optional<std::string>& value) {
  if (!value || value->empty() || value->size() > 2 || value->front() == '0' ||
      !std::all_of(value->begin(), value->end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return false;
  }
  int bits = std::stoi(*value);
  return bits >= 8 && bits <= 15;
}

// The parameters a server may answer permessage-deflate with (RFC 7692 §7.1), each at most
// once (§7: a repeated parameter makes the response invalid).
bool accept_params(const std::vector<Param>& params, Negotiated& result) {
  constexpr std::string_view kKnown[] = {"server_no_context_takeover", "client_no_context_takeover",
                                         "server_max_window_bits", "client_max_window_bits"};
  bool seen[std::size(kKnown)] = {};
  for (const auto& param : params) {
    auto known = std::find_if(std::begin(kKnown), std::end(kKnown),
                              [&](std::string_view name) { return iequals(name, param.name); });
    if (known == std::end(kKnown)) {
      return false;
    }
    auto index = static_cast<std::size_t>(known - std::begin(kKnown));
    if (seen[index]) {
      return false;
    }
    seen[index] = true;
    bool takes_bits = index >= 2;
    if (takes_bits ? !is_window_bits(param.value) : param.value.has_value()) {
      return false;
    }
    if (index == 1) {
      result.client_no_context_takeover = true;
    }
  }
  return true;
}

}  // namespace

std::string offer_we_can_scan(std::string_view client_offer) {
  std::string offer;
  for (auto element : split_outside_quotes(client_offer, ',')) {
    element = trim(element);
    if (element.empty()) {
      continue;  // RFC 9110 §5.6.1: empty list elements are allowed and mean nothing
    }
    auto extension = parse_extension(element);
    if (!extension || !iequals(extension->name, "permessage-deflate")) {
      continue;
    }
    if (!offer.empty()) {
      offer += ", ";
    }
    offer += element;
  }
  return offer;
}

Negotiated parse_accepted(std::string_view server_response) {
  constexpr Negotiated kRefused{.deflate = false, .client_no_context_takeover = false, .ok = false};
  Negotiated result;
  for (auto element : split_outside_quotes(server_response, ',')) {
    element = trim(element);
    if (element.empty()) {
      continue;
    }
    auto extension = parse_extension(element);
    if (!extension || !iequals(extension->name, "permessage-deflate") || result.deflate) {
      return kRefused;
    }
    result.deflate = true;
    if (!accept_params(extension->params, result)) {
      return kRefused;
    }
  }
  return result;
}

}  // namespace hallpass::websocket
