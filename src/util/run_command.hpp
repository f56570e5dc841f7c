#pragma once
// Runs a short-lived helper command (ffmpeg -codecs, a probe, v4l2-ctl) to completion and captures
// its output. No shell: argv[0] is the program (searched in the server's PATH when it has no '/').
// The child gets its own process group, stdin on /dev/null, only the given environment, no other
// fd of ours, default signal dispositions, and SIGKILL when the calling thread dies. On timeout
// the whole group is SIGKILLed; once the leader exits, what is left of its group is killed too, so
// nothing it started outlives the call. Thread-safe; blocks the calling thread.
// Reaping is ours: nothing else in the process may waitpid(-1) or set SIGCHLD to SIG_IGN.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::util {

struct RunOptions {
  std::vector<std::string> env;  // the child's whole environment ("K=V"); empty like upstream
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::size_t max_output = 8 * 1024 * 1024;  // per stream; the rest is read and dropped
};

struct RunResult {
  bool started = false;  // false: `error` says why (not found, exec failed, ...)
  std::string error;
  int exit_code = -1;  // exit status when it exited normally, else -1
  int signal = 0;      // terminating signal, else 0
  bool timed_out = false;
  std::string out, err;
  bool out_truncated = false, err_truncated = false;

  bool ok() const { return started && !timed_out && exit_code == 0; }
};

RunResult run_command(const std::vector<std::string>& argv, const RunOptions& options = {});

// PATH lookup as execvp would do it (the server's PATH, else /usr/local/bin:/usr/bin:/bin); a name
// with '/' is returned unchanged. Empty when not found.
std::string find_executable(std::string_view name);

}  // namespace dragon::util
