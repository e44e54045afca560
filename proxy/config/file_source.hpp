// Reads config and list files from disk or from the tree compiled into the binary, so the
// embedded default loads through exactly the same code as /etc/hallpass/hallpass.yaml.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hallpass::config {

inline constexpr std::string_view kEmbeddedPrefix = "embedded:";
inline constexpr std::string_view kEmbeddedDefault = "embedded:/deploy/hallpass.yaml";

// "embedded:/path" reads the compiled-in tree; anything else reads the file system.
std::optional<std::string> read_file(const std::string& path);

// Resolves `path` against the folder of `relative_to` (a file), in either tree.
std::string resolve_path(const std::string& relative_to, const std::string& path);

}  // namespace hallpass::config
