#pragma once
// One child process: fork+execve from an argv (no shell), its own process group, stdin/stdout on
// /dev/null, stderr on a non-blocking pipe, a pidfd to learn of its exit. The child asks for
// SIGKILL when the thread that spawned it dies (PR_SET_PDEATHSIG), so a crashed server leaves no
// FFmpeg behind: spawn from a thread that lives as long as the child (the Reactor's thread).
//
// Reaping is ours: nothing else in the process may waitpid(-1) or set SIGCHLD to SIG_IGN.
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::process {

struct SpawnOptions;
struct SpawnResult;
SpawnResult spawn(const SpawnOptions& options);

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH unless it contains '/'
  std::vector<std::string> env;   // the child's whole environment ("K=V"); empty as upstream
};

// Move-only handle. Destroying a handle whose child was not reaped SIGKILLs its group and reaps it.
class Child {
 public:
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }        // also the process group id
  int pidfd() const { return pidfd_; }      // readable once the child has exited
  int stderr_fd() const { return err_fd_; }  // O_NONBLOCK read end; -1 after close_stderr()
  bool reaped() const { return reaped_; }

  // kill(-pgid, sig). Refused (false) once reaped: the group id may belong to someone else then.
  bool signal_group(int sig) const;
  // For an exited leader (pidfd readable): SIGKILL what is left of its group (the zombie leader
  // still pins the group id), then reap. Blocks if the leader has not exited. Returns the waitpid
  // status; nullopt when waitpid failed (someone else reaped it: upstream's "wait error" → killed).
  std::optional<int> reap_group();
  void close_stderr();

 private:
  friend SpawnResult spawn(const SpawnOptions& options);
  Child(pid_t pid, int pidfd, int err_fd) : pid_(pid), pidfd_(pidfd), err_fd_(err_fd) {}
  void release();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
};

struct SpawnResult {
  std::optional<Child> child;
  std::string error;  // when !child: what failed, e.g. "exec /x/ffmpeg: No such file or directory"
};

// Returns once the child has exec'd (or failed to): exec errors come back through a CLOEXEC pipe.
SpawnResult spawn(const SpawnOptions& options);

// PATH lookup as execvp does it, in the parent (the child's environment has no PATH).
// Empty with `error` set when not found.
std::string resolve_executable(std::string_view name, std::string& error);

}  // namespace dragon::process
