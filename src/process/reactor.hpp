#pragma once
// One thread that supervises every child: an epoll set of pidfds (exit) and stderr pipes (lines),
// a timer queue (kill timeouts, reconnect delays, the 1 s sampling tick) served through
// epoll_wait's timeout, and an eventfd for work posted from other threads.
//
// Why one thread for all: hundreds of FFmpeg processes cost one thread, not hundreds; every
// supervisor's state changes happen on one thread, so ordering is simple; and children are forked
// here, which matters because PR_SET_PDEATHSIG fires when the *thread* that forked dies: the
// reactor thread lives until the last supervisor is gone.
//
// Construct once, destroy after every Supervisor using it.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "process/state.hpp"

namespace dragon::process {

class Reactor {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = std::function<void()>;
  using TimerId = std::uint64_t;  // 0 = none
  using WatchId = std::uint64_t;  // 0 = none

  struct Options {
    double ncpu = 0;  // CPUs a CPU % is relative to; 0 = detect (affinity and cgroup quota)
  };

  Reactor();
  explicit Reactor(Options options);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Any thread. Tasks run in posting order on the reactor thread.
  void post(Task task);
  bool in_loop() const { return std::this_thread::get_id() == loop_id_.load(std::memory_order_acquire); }

  // Reactor thread only.
  TimerId add_timer(Clock::duration after, Task task);
  void cancel_timer(TimerId id);
  // Calls on_ready(epoll events) while fd is readable (level-triggered) until unwatch().
  WatchId watch(int fd, std::function<void(std::uint32_t)> on_ready);
  void unwatch(WatchId id);

  double ncpu() const { return ncpu_; }

  // How many times any supervisor on this reactor entered each state (upstream's global counters).
  StateCounters state_counters() const;
  void count_state(State s) { counters_[static_cast<std::size_t>(s)].fetch_add(1, std::memory_order_relaxed); }

 private:
  void run();
  void wake();

  int epfd_ = -1;
  int evfd_ = -1;
  double ncpu_ = 1;
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> loop_id_{};

  std::mutex mu_;  // guards posted_
  std::vector<Task> posted_;

  // Loop-thread state.
  std::map<std::pair<Clock::time_point, TimerId>, Task> timers_;
  std::unordered_map<TimerId, Clock::time_point> timer_due_;
  TimerId next_timer_ = 1;
  struct Watch {
    int fd;
    std::function<void(std::uint32_t)> fn;
  };
  std::unordered_map<WatchId, std::shared_ptr<Watch>> watches_;
  WatchId next_watch_ = 1;

  std::array<std::atomic<std::uint64_t>, k_state_count> counters_{};
  std::thread thread_;
};

}  // namespace dragon::process
