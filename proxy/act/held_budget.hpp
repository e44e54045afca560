// One budget for the request bodies every worker holds back for judging at once
// (`limits.max_held_bytes`). Each body may hold `content.hold_bytes`, so without a shared cap
// ten thousand slow uploads would each pin a megabyte: the budget turns that into a clear
// 503 for the request that does not fit, never an unjudged forward.
#pragma once

#include <atomic>
#include <cstddef>

namespace hallpass::act {

class HeldBudget {
 public:
  explicit HeldBudget(std::size_t limit) : limit_(limit) {}
  HeldBudget(const HeldBudget&) = delete;
  HeldBudget& operator=(const HeldBudget&) = delete;

  // Takes `bytes` if they fit under the limit; false (and nothing taken) when they do not.
  bool take(std::size_t bytes) {
    auto used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || used > limit_ - bytes) {
        return false;
      }
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void give(std::size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  std::size_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

// What one request took from the budget, given back when the request is done with it.
class HeldCharge {
 public:
  explicit HeldCharge(HeldBudget* budget) : budget_(budget) {}
  HeldCharge(const HeldCharge&) = delete;
  HeldCharge& operator=(const HeldCharge&) = delete;
  ~HeldCharge() {
    if (budget_ != nullptr) {
      budget_->give(taken_);
    }
  }
  bool take(std::size_t bytes) {
    if (budget_ != nullptr && !budget_->take(bytes)) {
      return false;
    }
    taken_ += bytes;
    return true;
  }

 private:
  HeldBudget* budget_;
  std::size_t taken_ = 0;
};

}  // namespace hallpass::act
