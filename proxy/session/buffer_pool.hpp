// Relay buffers lent per request, not owned per connection: ten thousand idle keep-alive
// connections must not hold ten thousand 64 KiB buffers. One pool per worker thread.
#pragma once

#include <memory>
#include <span>
#include <vector>

namespace hallpass::session {

class BufferPool {
 public:
  static constexpr std::size_t kBufferSize = 128 * 1024;
  static constexpr std::size_t kKeep = 64;  // idle buffers kept for reuse

  class Lease {
   public:
    Lease(BufferPool& pool, std::unique_ptr<char[]> buffer)
        : pool_(&pool), buffer_(std::move(buffer)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (buffer_ && pool_->free_.size() < kKeep) {
        pool_->free_.push_back(std::move(buffer_));
      }
    }
    std::span<char> span() { return {buffer_.get(), kBufferSize}; }

   private:
    BufferPool* pool_;
    std::unique_ptr<char[]> buffer_;
  };

  Lease lease() {
    if (free_.empty()) {
      return {*this, std::make_unique_for_overwrite<char[]>(kBufferSize)};
    }
    auto buffer = std::move(free_.back());
    free_.pop_back();
    return {*this, std::move(buffer)};
  }

 private:
  std::vector<std::unique_ptr<char[]>> free_;
};

}  // namespace hallpass::session
