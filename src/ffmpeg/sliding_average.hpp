#pragma once
// 30 s sliding sums at 1 s granularity, as upstream's prep/average window: the average is over the
// completed buckets only (the running second is excluded), divided by how many have elapsed (≤ 30).
// Time comes from the caller, in whole seconds; nothing here reads a clock.
#include <algorithm>
#include <array>
#include <cstdint>

namespace dragon::ffmpeg {

class SlidingAverage {
 public:
  static constexpr int kWindow = 30;

  void add(std::int64_t now, std::int64_t value) {
    advance(now);
    buckets_[pos_] += value;
  }
  double average(std::int64_t now) {
    advance(now);
    if (elapsed_ == 0) return 0;
    std::int64_t sum = 0;
    for (int i = 1; i <= elapsed_; ++i) sum += buckets_[(pos_ + kSlots - i) % kSlots];
    return static_cast<double>(sum) / elapsed_;
  }
  void reset() { *this = SlidingAverage{}; }

 private:
  static constexpr int kSlots = kWindow + 1;
  void advance(std::int64_t now) {
    if (!started_) {
      started_ = true;
      current_ = now;
      return;
    }
    if (now <= current_) return;  // a clock stepping back keeps the current bucket
    std::int64_t steps = now - current_;
    current_ = now;
    for (std::int64_t i = 0; i < steps && i < kSlots; ++i) {
      pos_ = (pos_ + 1) % kSlots;
      buckets_[pos_] = 0;
    }
    elapsed_ = static_cast<int>(std::min<std::int64_t>(kWindow, elapsed_ + steps));
  }

  std::array<std::int64_t, kSlots> buckets_{};
  int pos_ = 0;
  int elapsed_ = 0;
  bool started_ = false;
  std::int64_t current_ = 0;
};

}  // namespace dragon::ffmpeg
