// An in-memory stream for the HTTP targets: the proxy's own read_head and read_body_piece
// templates run unchanged on it, with the client's bytes arriving in pieces of a size the
// fuzzer picks, as TCP may split them. No socket, no timer.
#pragma once

#include <algorithm>
#include <chrono>
#include <string_view>

#include "proxy/http/beast.hpp"

namespace hallpass::fuzz {

class PieceStream {
 public:
  using executor_type = asio::any_io_executor;

  PieceStream(executor_type executor, std::string_view bytes, std::size_t piece)
      : executor_(std::move(executor)), rest_(bytes), piece_(std::max<std::size_t>(piece, 1)) {}

  executor_type get_executor() const { return executor_; }
  // The proxy sets a deadline before each read; a memory stream never waits.
  void expires_after(std::chrono::steady_clock::duration) {}
  std::size_t bytes_read() const { return read_; }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& into) {
          error_code ec;
          std::size_t n = 0;
          if (asio::buffer_size(into) > 0) {
            if (rest_.empty()) {
              ec = asio::error::eof;
            } else {
              n = asio::buffer_copy(into,
                                    asio::buffer(rest_.data(), std::min(piece_, rest_.size())));
              rest_.remove_prefix(n);
              read_ += n;
            }
          }
          // Asio forbids completing inside the initiating call: post, as a socket would.
          auto executor = asio::get_associated_executor(handler, executor_);
          asio::post(executor, [handler = std::move(handler), ec, n]() mutable {
            std::move(handler)(ec, n);
          });
        },
        token, buffers);
  }

 private:
  executor_type executor_;
  std::string_view rest_;
  std::size_t piece_;
  std::size_t read_ = 0;
};

}  // namespace hallpass::fuzz
