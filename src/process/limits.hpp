#pragma once
// Upstream's resource limits (process/limits.go): fed one sample per interval, it reports the CPU
// usage since the previous sample and whether a limit has been exceeded continuously for waitfor.
// Pure (no I/O, no clock of its own) so it is tested without processes.
#include <chrono>
#include <cstdint>

namespace dragon::process {

struct ResourceLimits {
  double cpu_percent = 0;            // 0 = no limit; 100 = all of the effective CPUs
  std::uint64_t memory_bytes = 0;    // RSS; 0 = no limit
  std::chrono::milliseconds waitfor{0};
};

class LimitWatch {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { Ok, Cpu, Memory };

  // ncpu: effective CPUs (cgroup quota aware); ticks_per_second: sysconf(_SC_CLK_TCK).
  LimitWatch(ResourceLimits limits, double ncpu, long ticks_per_second);

  // Baseline at spawn; the first update() measures from here.
  void reset(Clock::time_point now, std::uint64_t cpu_ticks);
  Verdict update(Clock::time_point now, std::uint64_t cpu_ticks, std::uint64_t rss_bytes);

  double cpu_percent() const { return cpu_; }
  std::uint64_t memory_bytes() const { return mem_; }

 private:
  ResourceLimits limits_;
  double ncpu_;
  double tps_;
  Clock::time_point last_t_{};
  std::uint64_t last_ticks_ = 0;
  double cpu_ = 0;
  std::uint64_t mem_ = 0;
  bool cpu_over_ = false;
  bool mem_over_ = false;
  Clock::time_point cpu_since_{};
  Clock::time_point mem_since_{};
};

}  // namespace dragon::process
