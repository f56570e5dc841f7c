#include "process/limits.hpp"

namespace dragon::process {

LimitWatch::LimitWatch(ResourceLimits limits, double ncpu, long ticks_per_second)
    : limits_(limits), ncpu_(ncpu > 0 ? ncpu : 1.0), tps_(ticks_per_second > 0 ? static_cast<double>(ticks_per_second) : 100.0) {}

void LimitWatch::reset(Clock::time_point now, std::uint64_t cpu_ticks) {
  last_t_ = now;
  last_ticks_ = cpu_ticks;
  cpu_ = 0;
  mem_ = 0;
  cpu_over_ = mem_over_ = false;
}

LimitWatch::Verdict LimitWatch::update(Clock::time_point now, std::uint64_t cpu_ticks, std::uint64_t rss_bytes) {
  double wall = std::chrono::duration<double>(now - last_t_).count();
  if (wall > 0) {
    double used = cpu_ticks >= last_ticks_ ? static_cast<double>(cpu_ticks - last_ticks_) / tps_ : 0.0;
    cpu_ = used / (wall * ncpu_) * 100.0;
  }
  last_t_ = now;
  last_ticks_ = cpu_ticks;
  mem_ = rss_bytes;

  // As upstream: the clock starts at the first sample over the limit and is reset by one below it.
  auto over_for = [&](bool over, bool& was_over, Clock::time_point& since) {
    if (!over) {
      was_over = false;
      return false;
    }
    if (!was_over) since = now;
    was_over = true;
    return now - since >= limits_.waitfor;
  };
  bool cpu_hit = over_for(limits_.cpu_percent > 0 && cpu_ > limits_.cpu_percent, cpu_over_, cpu_since_);
  bool mem_hit = over_for(limits_.memory_bytes > 0 && mem_ > limits_.memory_bytes, mem_over_, mem_since_);
  if (cpu_hit) return Verdict::Cpu;
  if (mem_hit) return Verdict::Memory;
  return Verdict::Ok;
}

}  // namespace dragon::process
