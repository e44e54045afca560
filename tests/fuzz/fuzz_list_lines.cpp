// Category lists are downloaded (UT1 has millions of lines) or written by a district, and
// the users file by hand; one bad line must stop the load with its own line number, and
// every line that loads must then be found by the lookups the policy makes, or a listed
// domain would silently not be blocked.
//
// Input: byte 0 picks the format (domains, urls, patterns, users file); the rest is the
// file's text.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "filters/domain_list.hpp"
#include "filters/host.hpp"
#include "filters/list_lines.hpp"
#include "filters/load_error.hpp"
#include "filters/url_rules.hpp"
#include "proxy/config/users_file.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/scratch_dir.hpp"

namespace {

using namespace hallpass;

const std::string kFile = "lists/fuzz/domains";
constexpr filters::CategoryId kCategory = 3;

// The text of line `number` as for_each_list_line hands it over; empty when it is skipped.
std::string_view line_at(std::string_view text, bool strip_comments, int number) {
  std::string_view found;
  filters::for_each_list_line(text, strip_comments, [&](int n, std::string_view line) {
    if (n == number) {
      found = line;
    }
  });
  return found;
}

bool covers(std::string_view entry, std::string_view host) {
  return host == entry || (host.ends_with(entry) && host[host.size() - entry.size() - 1] == '.');
}

void domains(std::string_view text) {
  filters::DomainTable table;
  std::size_t added = 0;
  try {
    added = filters::load_domain_list(text, kFile, kCategory, table);
  } catch (const filters::LoadError& e) {
    FUZZ_CHECK(e.file() == kFile);
    auto line = line_at(text, true, e.line());
    FUZZ_CHECK(!line.empty());  // the line it names is a real, non-blank line ...
    if (line.front() == '.') {
      line.remove_prefix(1);
    }
    FUZZ_CHECK(!filters::normalize_host(line));  // ... and is indeed not a domain
    return;
  }
  std::set<std::string> listed;
  std::size_t lines = 0;
  filters::for_each_list_line(text, true, [&](int, std::string_view line) {
    ++lines;
    listed.insert(*filters::normalize_host(line.front() == '.' ? line.substr(1) : line));
  });
  FUZZ_CHECK(added == lines);
  FUZZ_CHECK(table.size() == listed.size());
  for (const auto& domain : listed) {
    FUZZ_CHECK(table.find(domain) == domain);
    FUZZ_CHECK(table.find_in(domain, kCategory) == domain);
    FUZZ_CHECK(table.find_in(domain, kCategory + 1).empty());
    auto below = "sub." + domain;
    auto entry = table.find(below);
    FUZZ_CHECK(listed.count(std::string(entry)) == 1 && covers(entry, below));
  }
  // Loading the same list again adds no entry.
  filters::load_domain_list(text, kFile, kCategory, table);
  FUZZ_CHECK(table.size() == listed.size());
}

void url_prefixes(std::string_view text) {
  filters::UrlRules rules;
  try {
    rules.load_prefixes(text, kFile, kCategory);
  } catch (const filters::LoadError& e) {
    FUZZ_CHECK(e.file() == kFile && !line_at(text, true, e.line()).empty());
    return;
  }
  rules.finish();
  filters::for_each_list_line(text, true, [&](int, std::string_view line) {
    auto slash = line.find('/');
    auto host_text = line.substr(0, slash);
    if (host_text.starts_with("www.")) {
      host_text.remove_prefix(4);
    }
    auto host = *filters::normalize_host(host_text);
    std::string path = slash == std::string_view::npos ? "/" : std::string(line.substr(slash));
    bool found = false;
    rules.for_each_match(host, path, host + path, [&](std::string_view entry, filters::CategoryId) {
      found = found || entry == line;
      return true;
    });
    FUZZ_CHECK(found);
  });
}

void url_patterns(std::string_view text) {
  filters::UrlRules rules;
  rules.load_patterns(text, kFile, kCategory);
  try {
    rules.finish();
  } catch (const filters::LoadError& e) {
    // pattern_set.hpp: the error names the pattern's "file:line".
    FUZZ_CHECK(e.file().starts_with(kFile + ":") || e.file() == "patterns");
  }
}

void users(std::string_view text) {
  auto path = fuzz::scratch_dir().write("users", text);
  try {
    for (const auto& user : config::load_users_file(path)) {
      FUZZ_CHECK(!user.name.empty() && user.verifier.starts_with("pbkdf2-sha256$"));
    }
  } catch (const filters::LoadError& e) {
    FUZZ_CHECK(e.file() == path && e.line() >= 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0:
      domains(text);
      break;
    case 1:
      url_prefixes(text);
      break;
    case 2:
      url_patterns(text);
      break;
    default:
      users(text);
      break;
  }
  return 0;
}
