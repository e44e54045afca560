#include "filters/multipart_text.hpp"

#include <algorithm>
#include <cctype>

namespace hallpass::filters {

namespace {

// Part headers past this are not a form a browser sends: the part is skipped.
constexpr std::size_t kMaxHeaders = 8192;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A field typed by a person: no filename, and no type or a text type.
bool is_text_part(std::string_view headers) {
  auto h = lower(headers);
  if (h.find("filename") != std::string::npos) {
    return false;
  }
  auto type = h.find("content-type:");
  if (type == std::string::npos) {
    return true;
  }
  auto value = h.substr(type + 13);
  value.erase(0, value.find_first_not_of(" \t"));
  return value.starts_with("text/");
}

}  // namespace

std::string_view MultipartText::boundary_of(std::string_view content_type) {
  auto h = lower(content_type);
  auto at = h.find("boundary=");
  if (at == std::string::npos) {
    return {};
  }
  auto value = content_type.substr(at + 9);
  if (value.starts_with('"')) {
    value.remove_prefix(1);
    return value.substr(0, value.find('"'));
  }
  return value.substr(0, value.find_first_of("; \t"));
}

bool MultipartText::step(std::string& out) {
  std::string_view boundary_line = std::string_view(delimiter_).substr(2);  // "--boundary"
  switch (state_) {
    case State::preamble: {
      auto at = pending_.find(boundary_line);
      if (at == std::string::npos) {
        // Keep what could be the start of the first boundary line.
        if (pending_.size() > boundary_line.size()) {
          pending_.erase(0, pending_.size() - boundary_line.size());
        }
        return false;
      }
      pending_.erase(0, at + boundary_line.size());
      state_ = State::after_delimiter;
      return true;
    }
    case State::after_delimiter: {
      if (pending_.size() < 2) {
        return false;
      }
      if (pending_.starts_with("--")) {
        state_ = State::done;
        pending_.clear();
        return false;
      }
      auto line_end = pending_.find("\r\n");
      if (line_end == std::string::npos) {
        return false;
      }
      pending_.erase(0, line_end + 2);
      state_ = State::headers;
      return true;
    }
    case State::headers: {
      if (pending_.starts_with("\r\n")) {  // a part with no headers at all
        text_part_ = true;
        pending_.erase(0, 2);
        state_ = State::content;
        return true;
      }
      auto end = pending_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (pending_.size() > kMaxHeaders) {
          text_part_ = false;
          state_ = State::content;
          return true;
        }
        return false;
      }
      text_part_ = is_text_part(std::string_view(pending_).substr(0, end));
      pending_.erase(0, end + 4);
      state_ = State::content;
      return true;
    }
    case State::content: {
      auto at = pending_.find(delimiter_);
      if (at == std::string::npos) {
        // Everything but a possible start of the delimiter can go now.
        auto keep = std::min(pending_.size(), delimiter_.size() - 1);
        if (text_part_) {
          out.append(pending_, 0, pending_.size() - keep);
        }
        pending_.erase(0, pending_.size() - keep);
        return false;
      }
      if (text_part_) {
        out.append(pending_, 0, at);
        out += '\n';
      }
      pending_.erase(0, at + delimiter_.size());
      state_ = State::after_delimiter;
      return true;
    }
    case State::done:
      pending_.clear();
      return false;
  }
  return false;
}

void MultipartText::feed(std::string_view piece, std::string& out) {
  pending_.append(piece);
  while (step(out)) {
  }
}

void MultipartText::finish(std::string& out) {
  if (state_ == State::content && text_part_) {
    out += pending_;
    out += '\n';
  }
  pending_.clear();
  state_ = State::done;
}

}  // namespace hallpass::filters
