#pragma once
// Supervises one FFmpeg-like child with upstream's exec state machine (see state.hpp): an order
// (start/stop), graceful stop (SIGINT to the group, SIGKILL after kill_timeout), reconnect after
// any exit while ordered to run (also after a spawn failure), a stale timeout fed by progress(),
// and CPU/memory limits sampled every sample_interval.
//
// Threading: all work runs on the Reactor's thread. Public methods may be called from any thread
// (including from inside the callbacks); they only post work and, for stop(wait), wait for it.
// Callbacks run on the reactor thread, one at a time, in event order, with no lock of ours held:
// they may call any method here, but must not block for long (every child shares that thread) and
// must not wait for another supervisor's stop (stop(wait) from the reactor thread does not wait).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "process/limits.hpp"
#include "process/line_reader.hpp"
#include "process/reactor.hpp"
#include "process/state.hpp"

namespace dragon::process {

struct SupervisorConfig {
  std::string id;                  // for logs
  std::vector<std::string> argv;   // argv[0] looked up in PATH unless it has a '/'
  // When set, called on the reactor thread before each spawn to give that run's argv instead (e.g.
  // WebRTC legs on ports chosen at start). Keep it quick: every child shares that thread.
  std::function<std::vector<std::string>()> argv_at_spawn;
  std::vector<std::string> env;    // the child's entire environment; empty as upstream
  bool reconnect = false;
  std::chrono::milliseconds reconnect_delay{0};
  std::chrono::milliseconds stale_timeout{0};  // 0 = off
  std::chrono::milliseconds kill_timeout{5000};
  ResourceLimits limits;
  std::chrono::milliseconds sample_interval{1000};  // resource sampling and the stale check
  std::size_t max_line = LineReader::k_default_max_line;
};

struct StateChange {
  State from = State::Finished;
  State to = State::Finished;
  StopReason reason = StopReason::None;  // why it was signalled (for finishing and final states)
  ExitInfo exit;                          // valid when `to` is finished/failed/killed after a run
  pid_t pid = 0;
};

struct SupervisorCallbacks {
  std::function<void(std::string_view line)> on_line;  // each non-empty stderr line; spawn errors too
  std::function<void(const StateChange&)> on_state;
};

struct Snapshot {
  State state = State::Finished;
  Order order = Order::Stop;
  double runtime_seconds = 0;    // since the last state change
  std::chrono::system_clock::time_point state_since{};
  double reconnect_seconds = -1;  // -1 unless order=start, not running and reconnect enabled
  pid_t pid = 0;                  // 0 when no child
  double cpu_percent = 0;         // over the last sample interval; 100 = all effective CPUs
  std::uint64_t memory_bytes = 0;  // RSS at the last sample
  ExitInfo last_exit;
  StateCounters counters{};  // how often each state was entered
};

class Supervisor {
 public:
  // The reactor must outlive the supervisor.
  Supervisor(Reactor& reactor, SupervisorConfig config, SupervisorCallbacks callbacks = {});
  // Kills a still-running child's group (SIGKILL) and reaps it; no callback runs after it returns
  // (when called on the reactor thread, that happens right after the current callback instead).
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // order → start and launch. No-op if the order already is start (as upstream: a process that
  // failed without reconnect stays down until stop() + start()).
  void start();
  // order → stop; SIGINT to the group, SIGKILL after kill_timeout; cancels a pending reconnect.
  // With wait (and not on the reactor thread) returns once the child has been reaped.
  void stop(bool wait = true);
  // Upstream's restart: only when order = start; stops the child keeping the order, so it comes
  // back only through reconnect. False when the order is stop.
  bool restart(bool wait = false);
  // Stops a running child and starts it again at once, keeping the order (e.g. to re-plan its
  // command). Does not wait; no-op when the order is stop or no child runs.
  void respawn();
  // The owner's parser saw progress: resets the stale timer. Any thread, cheap.
  void progress();

  Snapshot snapshot() const;
  Order order() const;
  const SupervisorConfig& config() const;

  class Impl;

 private:
  Reactor& reactor_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace dragon::process
