// The operator's YAML (the config, with `extends:` chains, and the rule and content
// pattern files it names) is loaded at start and on every reload; load.hpp promises that
// every problem comes out as a LoadError naming file and line, which `hallpass validate`
// prints and a reload logs while the old policy stays. Any other exception, or a crash, is
// a broken promise. LoadError is the expected outcome for most inputs and is caught.
//
// Input: byte 0 picks the file kind (config, rule file, content pattern file); the rest is
// the file's text.
#include <cstdint>
#include <string>
#include <string_view>

#include "filters/content_scanner.hpp"
#include "filters/load_error.hpp"
#include "proxy/config/content_files.hpp"
#include "proxy/config/file_source.hpp"
#include "proxy/config/load.hpp"
#include "proxy/config/rule_files.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/scratch_dir.hpp"

namespace {

using namespace hallpass;

// The embedded default, fully loaded: a rule file joins a real config, as it does in
// load_config.
const config::Config& default_config() {
  static const config::Config loaded = config::load_config(std::string(config::kEmbeddedDefault));
  return loaded;
}

void load_config_file(const std::string& path) {
  config::build_policy(config::load_config(path));
}

void load_rule_file(const std::string& path) {
  auto spec = default_config().policy;
  config::load_rule_file(path, spec);
  filters::Policy::build(spec, [](const std::string& file) { return config::read_file(file); });
}

// Hyperscan takes seconds over a set the size of a shipped file, and a mutated file compiles
// anew every time; the error that names a refused pattern is the same for a small set.
constexpr std::size_t kMaxCompiledPatterns = 8;

void load_content_file(const std::string& path) {
  std::vector<filters::ContentPatternSpec> patterns;
  config::load_content_file(path, patterns);
  if (patterns.size() <= kMaxCompiledPatterns) {
    filters::ContentScanner scanner(patterns);
  }
}

}  // namespace

// The shipped content sets compile once here (ContentScanner::shared keeps them), not in the
// first input that builds a policy: under ASan that takes longer than a unit may.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  config::build_policy(default_config());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  // A path into these would read a device or the process itself: endless or different on
  // every run, a finding about the fuzzer's machine and not about the loader.
  for (std::string_view special : {"/dev", "/proc", "/sys"}) {
    if (text.find(special) != std::string_view::npos) {
      return 0;
    }
  }
  // One file name for every kind: whatever a config names in its folder is this input,
  // never a file left by an earlier one, so a run can be replayed.
  auto path = fuzz::scratch_dir().write("input.yaml", text);
  try {
    switch (data[0] % 3) {
      case 0:
        load_config_file(path);
        break;
      case 1:
        load_rule_file(path);
        break;
      default:
        load_content_file(path);
        break;
    }
  } catch (const filters::LoadError& e) {
    // load_error.hpp: "always located", so the operator can open the file at the line.
    FUZZ_CHECK(!e.file().empty() && e.line() >= 0);
  }
  return 0;
}
