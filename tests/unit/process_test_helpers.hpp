#pragma once
// Shared helpers for the process module's tests: waiting for conditions (never fixed sleeps that
// assume a fast machine) and recording what a supervisor reports from the reactor thread.
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "log/log.hpp"
#include "process/supervisor.hpp"

namespace dragon::process::testing {

using namespace std::chrono_literals;

// Generous: a sanitizer build on a busy 2-core machine is slow, but a passing test returns early.
inline constexpr auto k_wait = std::chrono::seconds(20);

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = k_wait) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Keeps the expected warnings (spawn failures, limits) off the test output.
inline void quiet_logs() {
  log::Options o;
  o.level = log::Level::Error;
  o.output = log::Output::Json;
  o.topics = {"no-such-topic"};
  log::configure(o);
}

inline int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

class Recorder {
 public:
  SupervisorCallbacks callbacks(std::function<void(std::string_view)> extra_line = {}) {
    SupervisorCallbacks cb;
    cb.on_line = [this, extra_line](std::string_view l) {
      {
        std::lock_guard lock(mu_);
        lines_.emplace_back(l);
      }
      if (extra_line) extra_line(l);
    };
    cb.on_state = [this](const StateChange& c) {
      std::lock_guard lock(mu_);
      changes_.push_back(c);
      times_.push_back(std::chrono::steady_clock::now());
    };
    return cb;
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }
  std::vector<StateChange> changes() const {
    std::lock_guard lock(mu_);
    return changes_;
  }
  std::vector<std::chrono::steady_clock::time_point> times() const {
    std::lock_guard lock(mu_);
    return times_;
  }
  std::size_t line_count() const {
    std::lock_guard lock(mu_);
    return lines_.size();
  }
  // Every reported change is one of upstream's transitions, and each starts where the last ended.
  bool transitions_valid() const {
    std::lock_guard lock(mu_);
    State at = State::Finished;
    for (const auto& c : changes_) {
      if (c.from != at || !transition_allowed(c.from, c.to)) return false;
      at = c.to;
    }
    return true;
  }
  std::vector<State> states() const {
    std::lock_guard lock(mu_);
    std::vector<State> out;
    for (const auto& c : changes_) out.push_back(c.to);
    return out;
  }
  bool has_line(const std::string& s) const {
    std::lock_guard lock(mu_);
    for (const auto& l : lines_)
      if (l == s) return true;
    return false;
  }
  bool has_line_containing(const std::string& s) const {
    std::lock_guard lock(mu_);
    for (const auto& l : lines_)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  std::vector<StateChange> changes_;
  std::vector<std::chrono::steady_clock::time_point> times_;
};

inline std::uint64_t entered(const Snapshot& s, State st) { return s.counters[static_cast<std::size_t>(st)]; }

inline SupervisorConfig sh(const std::string& script) {
  SupervisorConfig c;
  c.id = "test";
  c.argv = {"/bin/sh", "-c", script};
  c.kill_timeout = 3s;
  return c;
}

}  // namespace dragon::process::testing
