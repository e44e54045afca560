// Minimal JSON writing for audit lines and `hallpass check`: spdlog's %v does not escape,
// so every string that came from a client goes through append_string.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace hallpass::record {

// "2026-11-29T05:52:42.123Z"
std::string iso_utc(std::chrono::system_clock::time_point time);

void append_json_string(std::string& out, std::string_view text);

// Appends `"key":` with a leading comma unless `out` ends with '{' or '['.
void append_json_key(std::string& out, std::string_view key);

inline void append_json_field(std::string& out, std::string_view key, std::string_view value) {
  append_json_key(out, key);
  append_json_string(out, value);
}

inline void append_json_field(std::string& out, std::string_view key, long long value) {
  append_json_key(out, key);
  out += std::to_string(value);
}

}  // namespace hallpass::record
