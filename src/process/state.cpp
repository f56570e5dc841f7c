#include "process/state.hpp"

#include <sys/wait.h>

namespace dragon::process {

std::string_view state_name(State s) {
  switch (s) {
    case State::Finished: return "finished";
    case State::Starting: return "starting";
    case State::Running: return "running";
    case State::Finishing: return "finishing";
    case State::Failed: return "failed";
    case State::Killed: return "killed";
  }
  return "unknown";
}

std::string_view order_name(Order o) { return o == Order::Start ? "start" : "stop"; }

std::string_view reason_name(StopReason r) {
  switch (r) {
    case StopReason::None: return "none";
    case StopReason::Order: return "stop";
    case StopReason::Restart: return "restart";
    case StopReason::Stale: return "stale";
    case StopReason::CpuLimit: return "cpu_limit";
    case StopReason::MemoryLimit: return "memory_limit";
    case StopReason::Shutdown: return "shutdown";
  }
  return "unknown";
}

bool transition_allowed(State from, State to) {
  switch (from) {
    case State::Finished: return to == State::Starting;
    case State::Starting: return to == State::Running || to == State::Failed || to == State::Finishing;
    case State::Running:
      return to == State::Finished || to == State::Finishing || to == State::Failed || to == State::Killed;
    case State::Finishing: return to == State::Finished || to == State::Failed || to == State::Killed;
    case State::Failed:
    case State::Killed: return to == State::Starting;
  }
  return false;
}

State classify_wait_status(int status, ExitInfo* info) {
  State s = State::Failed;
  int code = -1;
  int sig = 0;
  if (WIFEXITED(status)) {
    code = WEXITSTATUS(status);
    s = (code == 0 || code == 255) ? State::Finished : State::Failed;
  } else if (WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    s = State::Killed;
  }
  if (info) {
    info->valid = true;
    info->exit_code = code;
    info->signal = sig;
  }
  return s;
}

}  // namespace dragon::process
