#include "process/reactor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>

#include <fmt/format.h>

#include "log/log.hpp"
#include "process/cgroup.hpp"

namespace dragon::process {

Reactor::Reactor() : Reactor(Options{}) {}

Reactor::Reactor(Options options) {
  ncpu_ = options.ncpu > 0 ? options.ncpu : effective_cpus(detect_cgroup_limits(), available_cpus());
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  evfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epfd_ < 0 || evfd_ < 0) {
    int e = errno;
    if (epfd_ >= 0) ::close(epfd_);
    if (evfd_ >= 0) ::close(evfd_);
    throw std::runtime_error(fmt::format("process reactor: {}", std::strerror(e)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // watch ids start at 1: 0 is the eventfd
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
  thread_ = std::thread([this] { run(); });
}

Reactor::~Reactor() {
  stop_.store(true, std::memory_order_release);
  wake();
  if (thread_.joinable()) thread_.join();
  timers_.clear();  // may hold the last references to supervisor internals
  posted_.clear();
  ::close(evfd_);
  ::close(epfd_);
}

void Reactor::post(Task task) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(task));
  }
  wake();
}

void Reactor::wake() {
  std::uint64_t one = 1;
  ssize_t n = ::write(evfd_, &one, sizeof one);
  (void)n;  // EAGAIN: the counter is already non-zero, the loop wakes anyway
}

Reactor::TimerId Reactor::add_timer(Clock::duration after, Task task) {
  TimerId id = next_timer_++;
  auto due = Clock::now() + after;
  timers_.emplace(std::make_pair(due, id), std::move(task));
  timer_due_.emplace(id, due);
  return id;
}

void Reactor::cancel_timer(TimerId id) {
  auto it = timer_due_.find(id);
  if (it == timer_due_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  timer_due_.erase(it);
}

Reactor::WatchId Reactor::watch(int fd, std::function<void(std::uint32_t)> on_ready) {
  WatchId id = next_watch_++;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = id;  // an id, not the fd: a reused fd number cannot get a stale event
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::runtime_error(fmt::format("epoll_ctl add fd {}: {}", fd, std::strerror(errno)));
  watches_.emplace(id, std::make_shared<Watch>(Watch{fd, std::move(on_ready)}));
  return id;
}

void Reactor::unwatch(WatchId id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second->fd, nullptr);
  watches_.erase(it);
}

StateCounters Reactor::state_counters() const {
  StateCounters out{};
  for (std::size_t i = 0; i < k_state_count; ++i) out[i] = counters_[i].load(std::memory_order_relaxed);
  return out;
}

void Reactor::run() {
  loop_id_.store(std::this_thread::get_id(), std::memory_order_release);
  auto guarded = [](const char* what, auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      log::error("Process", "Reactor task failed", {{"what", what}, {"error", e.what()}});
    }
  };
  epoll_event events[64];
  while (!stop_.load(std::memory_order_acquire)) {
    int timeout = -1;
    if (!timers_.empty()) {
      auto wait = timers_.begin()->first.first - Clock::now();
      // Round up: waking early would only spin until the deadline.
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
      timeout = ms <= 0 ? 0 : static_cast<int>(std::min<long long>(ms, 60'000));
    }
    int n = ::epoll_wait(epfd_, events, 64, timeout);
    if (n < 0 && errno != EINTR) {
      log::error("Process", "epoll_wait failed", {{"error", std::strerror(errno)}});
      n = 0;
    }
    for (int i = 0; i < n; ++i) {
      WatchId id = events[i].data.u64;
      if (id == 0) {
        std::uint64_t v;
        ssize_t r = ::read(evfd_, &v, sizeof v);
        (void)r;
        continue;
      }
      auto it = watches_.find(id);
      if (it == watches_.end()) continue;  // unwatched by an earlier handler of this batch
      auto w = it->second;                 // survives an unwatch() from inside its own handler
      guarded("fd", [&] { w->fn(events[i].events); });
    }
    auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
      auto node = timers_.extract(timers_.begin());
      timer_due_.erase(node.key().second);
      guarded("timer", [&] { node.mapped()(); });
    }
    std::vector<Task> tasks;
    {
      std::lock_guard lock(mu_);
      tasks.swap(posted_);
    }
    for (auto& t : tasks) guarded("task", [&] { t(); });
  }
}

}  // namespace dragon::process
