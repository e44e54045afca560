// A config or list problem, always located: the operator must be able to open the file at
// the line and see the pattern that was refused.
#pragma once

#include <stdexcept>
#include <string>

namespace hallpass::filters {

class LoadError : public std::runtime_error {
 public:
  LoadError(std::string file, int line, const std::string& detail)
      : std::runtime_error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " +
                           detail),
        file_(std::move(file)),
        line_(line) {}
  const std::string& file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string file_;
  int line_;
};

}  // namespace hallpass::filters
