#pragma once
// Upstream's exec state machine (datarhei core process/process.go): the states, the transitions it
// allows, and how a wait status maps to a final state.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace dragon::process {

enum class State : std::uint8_t { Finished = 0, Starting, Running, Finishing, Failed, Killed };
inline constexpr std::size_t k_state_count = 6;
using StateCounters = std::array<std::uint64_t, k_state_count>;  // indexed by State

enum class Order : std::uint8_t { Stop = 0, Start };

// Why the supervisor signalled the child (None: it exited on its own).
enum class StopReason : std::uint8_t { None = 0, Order, Restart, Stale, CpuLimit, MemoryLimit, Shutdown };

std::string_view state_name(State s);  // "finished", "starting", ... (upstream's strings)
std::string_view order_name(Order o);  // "start" / "stop"
std::string_view reason_name(StopReason r);

// finished→starting; starting→running|failed|finishing; running→finished|finishing|failed|killed;
// finishing→finished|failed|killed; failed→starting; killed→starting.
bool transition_allowed(State from, State to);

// starting, running, finishing: a child exists (or is being made).
constexpr bool is_running(State s) {
  return s == State::Starting || s == State::Running || s == State::Finishing;
}

// How a run ended. exit_code is -1 when killed by a signal or never started.
struct ExitInfo {
  bool valid = false;   // false until the first run ended
  int exit_code = -1;
  int signal = 0;       // terminating signal, 0 if none
  std::string error;    // spawn failure text (then exit_code = -1, signal = 0)
  StopReason reason = StopReason::None;
};

// Upstream's mapping: exit 0 or 255 (FFmpeg after SIGINT) → finished, other exit → failed,
// terminated by a signal → killed, anything else → failed. `status` is a waitpid() status.
State classify_wait_status(int status, ExitInfo* info = nullptr);

}  // namespace dragon::process
