#include "process/supervisor.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <future>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "log/log.hpp"
#include "process/child.hpp"
#include "process/proc_stat.hpp"

namespace dragon::process {

using Clock = std::chrono::steady_clock;
using Waiter = std::shared_ptr<std::promise<void>>;

class Supervisor::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(Reactor& reactor, SupervisorConfig config, SupervisorCallbacks callbacks)
      : reactor_(reactor),
        cfg_(std::move(config)),
        cb_(std::move(callbacks)),
        reader_(cfg_.max_line),
        limits_(cfg_.limits, reactor.ncpu(), ::sysconf(_SC_CLK_TCK)) {
    state_since_ = Clock::now();
    state_since_wall_ = std::chrono::system_clock::now();
  }

  // --- any thread ---------------------------------------------------------------------------
  bool set_order(Order o) {
    std::lock_guard lock(mu_);
    if (order_ == o) return false;
    order_ = o;
    return true;
  }
  Order order() const {
    std::lock_guard lock(mu_);
    return order_;
  }
  void progress() { last_progress_ns_.store(now_ns(), std::memory_order_relaxed); }

  Snapshot snapshot() const {
    std::lock_guard lock(mu_);
    Snapshot s;
    auto now = Clock::now();
    s.state = state_;
    s.order = order_;
    s.runtime_seconds = std::chrono::duration<double>(now - state_since_).count();
    s.state_since = state_since_wall_;
    if (order_ == Order::Start && !is_running(state_) && cfg_.reconnect) {
      s.reconnect_seconds =
          reconnect_at_ ? std::max(0.0, std::chrono::duration<double>(*reconnect_at_ - now).count()) : 0.0;
    }
    s.pid = pid_;
    s.cpu_percent = cpu_;
    s.memory_bytes = mem_;
    s.last_exit = last_exit_;
    s.counters = counters_;
    return s;
  }

  const SupervisorConfig& config() const { return cfg_; }

  // --- reactor thread ------------------------------------------------------------------------
  void do_start() {
    if (detached_ || order() != Order::Start) return;
    cancel_reconnect();
    if (child_) {
      // start() after stop() while the old child is still finishing: run again once it is gone.
      if (current_state() == State::Finishing) start_pending_ = true;
      return;
    }
    spawn_now();
  }

  void do_stop(StopReason why, Waiter waiter) {
    if (detached_) return fulfil(waiter);
    if (why == StopReason::Order) {
      cancel_reconnect();
      start_pending_ = false;
    }
    if (!child_) return fulfil(waiter);
    if (waiter) waiters_.push_back(std::move(waiter));
    if (current_state() == State::Finishing) return;
    reason_ = why;
    set_state(State::Finishing);
    child_->signal_group(SIGINT);
    kill_timer_ = reactor_.add_timer(cfg_.kill_timeout, [this] {
      kill_timer_ = 0;
      if (child_ && child_->signal_group(SIGKILL))
        log::info("Process", "Killed after timeout", {{"id", cfg_.id}, {"pid", child_->pid()}});
    });
  }

  void do_respawn() {
    if (detached_ || order() != Order::Start || !child_) return;
    start_pending_ = true;  // on_exit() starts it again at once
    do_stop(StopReason::Restart, nullptr);
  }

  void detach() {
    detached_ = true;
    cancel_reconnect();
    cancel_run_timers();
    unwatch_all();
    if (child_) child_.reset();  // SIGKILLs the group and reaps
    {
      std::lock_guard lock(mu_);
      pid_ = 0;
    }
    for (auto& w : waiters_) fulfil(w);
    waiters_.clear();
  }

 private:
  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  }
  static void fulfil(const Waiter& w) {
    if (w) w->set_value();
  }

  State current_state() const {
    std::lock_guard lock(mu_);
    return state_;
  }

  // Applies a transition and then tells the owner, outside the lock.
  void set_state(State to, const ExitInfo* exit = nullptr) {
    StateChange change;
    {
      std::lock_guard lock(mu_);
      if (!transition_allowed(state_, to)) {
        log::error("Process", "Invalid state transition",
                   {{"id", cfg_.id}, {"from", state_name(state_)}, {"to", state_name(to)}});
        return;
      }
      change.from = state_;
      change.to = to;
      state_ = to;
      state_since_ = Clock::now();
      state_since_wall_ = std::chrono::system_clock::now();
      ++counters_[static_cast<std::size_t>(to)];
      if (exit) {
        last_exit_ = *exit;
        change.exit = *exit;
      }
      change.pid = pid_;
      change.reason = to == State::Starting || to == State::Running ? StopReason::None : reason_;
      if (!is_running(to)) pid_ = 0;
    }
    reactor_.count_state(to);
    if (cb_.on_state) cb_.on_state(change);
  }

  void emit_line(std::string_view line) {
    if (cb_.on_line) cb_.on_line(line);
  }

  void spawn_now() {
    reason_ = StopReason::None;
    start_pending_ = false;
    set_state(State::Starting);
    SpawnResult r = spawn(SpawnOptions{cfg_.argv_at_spawn ? cfg_.argv_at_spawn() : cfg_.argv, cfg_.env});
    if (!r.child) {
      log::warn("Process", "Failed to start", {{"id", cfg_.id}, {"error", r.error}});
      emit_line(r.error);  // upstream feeds the error to the parser, so it shows in the log
      ExitInfo e;
      e.valid = true;
      e.error = r.error;
      set_state(State::Failed, &e);
      schedule_reconnect();
      return;
    }
    child_.emplace(std::move(*r.child));
    pid_t pid = child_->pid();
    auto now = Clock::now();
    auto base = sample_process(pid);
    limits_.reset(now, base ? base->cpu_ticks : 0);
    {
      std::lock_guard lock(mu_);
      pid_ = pid;
      cpu_ = 0;
      mem_ = base ? base->rss_bytes : 0;
    }
    reader_.reset();
    last_progress_ns_.store(now_ns(), std::memory_order_relaxed);
    exit_watch_ = reactor_.watch(child_->pidfd(), [this](std::uint32_t) { on_exit(); });
    err_watch_ = reactor_.watch(child_->stderr_fd(), [this](std::uint32_t) { read_stderr(64); });
    tick_timer_ = reactor_.add_timer(cfg_.sample_interval, [this] { on_tick(); });
    log::debug("Process", "Started", {{"id", cfg_.id}, {"pid", pid}});
    set_state(State::Running);
  }

  // Reads up to max_reads chunks; at EOF or error the pipe is closed and the last line flushed.
  void read_stderr(int max_reads) {
    if (!child_ || child_->stderr_fd() < 0) return;
    char buf[16 * 1024];
    auto on_line = [this](std::string_view l) { emit_line(l); };
    for (int i = 0; i < max_reads; ++i) {
      ssize_t n = ::read(child_->stderr_fd(), buf, sizeof buf);
      if (n > 0) {
        reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)), on_line);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      // EOF or a read error.
      reader_.finish(on_line);
      reactor_.unwatch(std::exchange(err_watch_, 0));
      if (child_) child_->close_stderr();
      return;
    }
  }

  void on_exit() {
    reactor_.unwatch(std::exchange(exit_watch_, 0));
    std::optional<int> status = child_->reap_group();
    // What the child wrote before exiting is still in the pipe; a grandchild outside the group
    // could keep it open forever, so read what is there (bounded) and stop.
    read_stderr(64);
    if (child_ && child_->stderr_fd() >= 0) {
      reader_.finish([this](std::string_view l) { emit_line(l); });
      reactor_.unwatch(std::exchange(err_watch_, 0));
    }
    cancel_run_timers();
    ExitInfo e;
    State to;
    if (status) {
      to = classify_wait_status(*status, &e);
    } else {
      to = State::Killed;
      e.valid = true;
      e.error = "wait failed";
    }
    e.reason = reason_;
    log::debug("Process", "Exited",
               {{"id", cfg_.id}, {"pid", child_->pid()}, {"state", state_name(to)}, {"code", e.exit_code},
                {"signal", e.signal}, {"reason", reason_name(reason_)}});
    child_.reset();
    set_state(to, &e);
    for (auto& w : waiters_) fulfil(w);
    waiters_.clear();
    if (detached_ || order() != Order::Start) return;
    if (start_pending_) {
      start_pending_ = false;
      do_start();
    } else {
      schedule_reconnect();
    }
  }

  void on_tick() {
    tick_timer_ = reactor_.add_timer(cfg_.sample_interval, [this] { on_tick(); });
    if (!child_) return;
    auto now = Clock::now();
    // Only a running child is sampled: once it is finishing, an exiting (zombie) process would read
    // as 0 bytes and hide the figures that got it stopped.
    if (current_state() != State::Running) return;
    LimitWatch::Verdict verdict = LimitWatch::Verdict::Ok;
    if (auto s = sample_process(child_->pid())) {
      verdict = limits_.update(now, s->cpu_ticks, s->rss_bytes);
      std::lock_guard lock(mu_);
      cpu_ = limits_.cpu_percent();
      mem_ = limits_.memory_bytes();
    }
    if (cfg_.stale_timeout.count() > 0) {
      auto idle = std::chrono::nanoseconds(now_ns() - last_progress_ns_.load(std::memory_order_relaxed));
      if (idle > cfg_.stale_timeout) {
        log::info("Process", "Stale timeout, stopping",
                  {{"id", cfg_.id}, {"timeout_ms", cfg_.stale_timeout.count()}});
        return do_stop(StopReason::Stale, nullptr);
      }
    }
    if (verdict == LimitWatch::Verdict::Cpu) {
      log::warn("Process", "CPU limit exceeded, stopping",
                {{"id", cfg_.id}, {"cpu", limits_.cpu_percent()}, {"limit", cfg_.limits.cpu_percent}});
      do_stop(StopReason::CpuLimit, nullptr);
    } else if (verdict == LimitWatch::Verdict::Memory) {
      log::warn("Process", "Memory limit exceeded, stopping",
                {{"id", cfg_.id}, {"memory", limits_.memory_bytes()}, {"limit", cfg_.limits.memory_bytes}});
      do_stop(StopReason::MemoryLimit, nullptr);
    }
  }

  void schedule_reconnect() {
    if (!cfg_.reconnect || detached_) return;
    {
      std::lock_guard lock(mu_);
      if (order_ != Order::Start) return;
      reconnect_at_ = Clock::now() + cfg_.reconnect_delay;
    }
    reactor_.cancel_timer(reconnect_timer_);
    reconnect_timer_ = reactor_.add_timer(cfg_.reconnect_delay, [this] {
      reconnect_timer_ = 0;
      do_start();
    });
  }

  void cancel_reconnect() {
    reactor_.cancel_timer(std::exchange(reconnect_timer_, 0));
    std::lock_guard lock(mu_);
    reconnect_at_.reset();
  }

  void cancel_run_timers() {
    reactor_.cancel_timer(std::exchange(tick_timer_, 0));
    reactor_.cancel_timer(std::exchange(kill_timer_, 0));
  }

  void unwatch_all() {
    reactor_.unwatch(std::exchange(exit_watch_, 0));
    reactor_.unwatch(std::exchange(err_watch_, 0));
  }

  Reactor& reactor_;
  const SupervisorConfig cfg_;
  const SupervisorCallbacks cb_;

  mutable std::mutex mu_;  // guards the snapshot fields below; never held during a callback
  Order order_ = Order::Stop;
  State state_ = State::Finished;
  Clock::time_point state_since_;
  std::chrono::system_clock::time_point state_since_wall_;
  StateCounters counters_{};
  pid_t pid_ = 0;
  double cpu_ = 0;
  std::uint64_t mem_ = 0;
  ExitInfo last_exit_;
  std::optional<Clock::time_point> reconnect_at_;

  std::atomic<std::int64_t> last_progress_ns_{0};

  // Reactor thread only.
  bool detached_ = false;
  std::optional<Child> child_;
  Reactor::WatchId exit_watch_ = 0;
  Reactor::WatchId err_watch_ = 0;
  Reactor::TimerId tick_timer_ = 0;
  Reactor::TimerId kill_timer_ = 0;
  Reactor::TimerId reconnect_timer_ = 0;
  LineReader reader_;
  LimitWatch limits_;
  StopReason reason_ = StopReason::None;
  bool start_pending_ = false;
  std::vector<Waiter> waiters_;
};

Supervisor::Supervisor(Reactor& reactor, SupervisorConfig config, SupervisorCallbacks callbacks)
    : reactor_(reactor), impl_(std::make_shared<Impl>(reactor, std::move(config), std::move(callbacks))) {}

Supervisor::~Supervisor() {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  reactor_.post([impl = impl_, done] {
    impl->detach();
    done->set_value();
  });
  if (!reactor_.in_loop()) fut.wait();
}

void Supervisor::start() {
  if (!impl_->set_order(Order::Start)) return;
  reactor_.post([impl = impl_] { impl->do_start(); });
}

void Supervisor::stop(bool wait) {
  impl_->set_order(Order::Stop);
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  reactor_.post([impl = impl_, done] { impl->do_stop(StopReason::Order, done); });
  if (wait && !reactor_.in_loop()) fut.wait();
}

bool Supervisor::restart(bool wait) {
  if (impl_->order() != Order::Start) return false;
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  reactor_.post([impl = impl_, done] { impl->do_stop(StopReason::Restart, done); });
  if (wait && !reactor_.in_loop()) fut.wait();
  return true;
}

void Supervisor::respawn() {
  reactor_.post([impl = impl_] { impl->do_respawn(); });
}

void Supervisor::progress() { impl_->progress(); }
Snapshot Supervisor::snapshot() const { return impl_->snapshot(); }
Order Supervisor::order() const { return impl_->order(); }
const SupervisorConfig& Supervisor::config() const { return impl_->config(); }

}  // namespace dragon::process
