#include "util/run_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace dragon::util {
namespace {

using Clock = std::chrono::steady_clock;

// After the leader has exited (or was killed), how long we still wait for the pipes to reach EOF:
// a descendant that left the group may hold them open forever.
constexpr auto kDrainGrace = std::chrono::seconds(1);

enum Stage : int { k_setpgid = 1, k_pdeathsig, k_dup, k_exec };

struct ExecFailure {
  int stage;
  int err;
};

const char* stage_name(int stage) {
  switch (stage) {
    case k_setpgid: return "setpgid";
    case k_pdeathsig: return "prctl(PR_SET_PDEATHSIG)";
    case k_dup: return "dup2";
    default: return "exec";
  }
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// The child dup2()s onto 0..3, so no source may sit on those numbers.
bool lift_fd(int& fd) {
  if (fd > 3) return true;
  int n = ::fcntl(fd, F_DUPFD_CLOEXEC, 4);
  if (n < 0) return false;
  ::close(fd);
  fd = n;
  return true;
}

[[noreturn]] void child_fail(int exec_fd, int stage) {
  ExecFailure f{stage, errno};
  ssize_t ignored = ::write(exec_fd, &f, sizeof f);
  (void)ignored;
  ::_exit(127);
}

// Between fork and execve: async-signal-safe calls only (no allocation, no locks).
[[noreturn]] void child_main(const char* path, char* const* argv, char* const* envp, int devnull, int out_w,
                             int err_w, int exec_w, pid_t parent, int max_fd) {
  // Handlers are reset by execve, ignored dispositions (SIGPIPE) are not; signals are blocked here.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);  // EINVAL for libc-internal signals: harmless
  }
  if (::setpgid(0, 0) != 0) child_fail(exec_w, k_setpgid);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(exec_w, k_pdeathsig);
  // The parent may have died before prctl took effect: then nobody would ever kill us.
  if (::getppid() != parent) ::_exit(127);
  if (::dup2(devnull, 0) < 0 || ::dup2(out_w, 1) < 0 || ::dup2(err_w, 2) < 0) child_fail(exec_w, k_dup);
  if (exec_w != 3) {
    if (::dup3(exec_w, 3, O_CLOEXEC) < 0) child_fail(exec_w, k_dup);
    exec_w = 3;
  }
  // Nothing of the server's (sockets, other children's pipes) leaks into the helper.
  if (::syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
    for (int fd = 4; fd < max_fd; ++fd) ::close(fd);
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(path, argv, envp);
  child_fail(exec_w, k_exec);
}

// Appends what is readable now; false at EOF or a hard error.
bool drain(int fd, std::string& into, bool& truncated, std::size_t cap) {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      std::size_t room = cap > into.size() ? cap - into.size() : 0;
      std::size_t take = std::min(room, static_cast<std::size_t>(n));
      into.append(buf, take);
      if (take < static_cast<std::size_t>(n)) truncated = true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

bool leader_exited(pid_t pid) {
  siginfo_t info{};
  // WNOWAIT: the zombie keeps the process group id pinned until we kill the group and reap.
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
  return info.si_pid == pid;
}

}  // namespace

std::string find_executable(std::string_view name) {
  if (name.empty()) return {};
  if (name.find('/') != std::string_view::npos) return std::string(name);
  const char* env_path = std::getenv("PATH");
  std::string_view dirs = env_path && *env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    auto colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {};
}

RunResult run_command(const std::vector<std::string>& args, const RunOptions& options) {
  RunResult r;
  if (args.empty()) {
    r.error = "run: empty command line";
    return r;
  }
  std::string path = find_executable(args[0]);
  if (path.empty()) {
    r.error = fmt::format("{}: executable file not found in $PATH", args[0]);
    return r;
  }

  // Everything the child needs is built before fork: the child must not allocate.
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(options.env.size() + 1);
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  struct rlimit rl {};
  int max_fd = (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536)
                   ? static_cast<int>(rl.rlim_cur)
                   : 65536;

  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, exec_p[2] = {-1, -1};
  int pidfd = -1;
  auto cleanup = [&] {
    for (int* fd : {&devnull, &out_p[0], &out_p[1], &err_p[0], &err_p[1], &exec_p[0], &exec_p[1], &pidfd})
      close_fd(*fd);
  };
  if (devnull < 0 || ::pipe2(out_p, O_CLOEXEC | O_NONBLOCK) != 0 || ::pipe2(err_p, O_CLOEXEC | O_NONBLOCK) != 0 ||
      ::pipe2(exec_p, O_CLOEXEC) != 0 || !lift_fd(devnull) || !lift_fd(out_p[1]) || !lift_fd(err_p[1]) ||
      !lift_fd(exec_p[1])) {
    r.error = fmt::format("run {}: {}", args[0], std::strerror(errno));
    cleanup();
    return r;
  }
  // The child's ends must block: O_NONBLOCK is shared by the open file description.
  ::fcntl(out_p[1], F_SETFL, 0);
  ::fcntl(err_p[1], F_SETFL, 0);

  // Signals stay blocked from fork until the child has reset its dispositions, so no handler of
  // ours ever runs in the child.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0)
    child_main(path.c_str(), argv.data(), envp.data(), devnull, out_p[1], err_p[1], exec_p[1], parent, max_fd);
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close_fd(devnull);
  close_fd(out_p[1]);
  close_fd(err_p[1]);
  close_fd(exec_p[1]);
  if (pid < 0) {
    r.error = fmt::format("fork {}: {}", args[0], std::strerror(fork_errno));
    cleanup();
    return r;
  }
  const auto deadline = Clock::now() + options.timeout;

  // EOF on the exec pipe (CLOEXEC closed it) means execve succeeded.
  ExecFailure failure{};
  ssize_t n;
  do n = ::read(exec_p[0], &failure, sizeof failure);
  while (n < 0 && errno == EINTR);
  close_fd(exec_p[0]);
  if (n != 0) {
    int st;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    r.error = n == static_cast<ssize_t>(sizeof failure)
                  ? fmt::format("{} {}: {}", stage_name(failure.stage), path, std::strerror(failure.err))
                  : fmt::format("run {}: child died before exec", path);
    cleanup();
    return r;
  }
  r.started = true;

  // A pidfd wakes poll() on exit; without one (old kernel) we look every 10 ms.
  pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);

  bool exited = false;  // leader gone (or killed by us): only draining is left
  Clock::time_point drain_until{};
  while (true) {
    auto now = Clock::now();
    if (!exited && leader_exited(pid)) {
      exited = true;
      ::kill(-pid, SIGKILL);  // leftovers of its group would keep the pipes open
      drain_until = now + kDrainGrace;
    }
    if (!exited && now >= deadline) {
      r.timed_out = true;
      exited = true;
      ::kill(-pid, SIGKILL);
      drain_until = now + kDrainGrace;
    }
    if (out_p[0] < 0 && err_p[0] < 0 && exited) break;
    if (exited && now >= drain_until) break;

    auto until = exited ? drain_until : deadline;
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
    if (!exited && pidfd < 0) wait_ms = std::min<long long>(wait_ms, 10);
    pollfd fds[3] = {{out_p[0], POLLIN, 0}, {err_p[0], POLLIN, 0}, {exited ? -1 : pidfd, POLLIN, 0}};
    int pr = ::poll(fds, 3, static_cast<int>(std::clamp<long long>(wait_ms, 0, 60'000)));
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    if (fds[0].revents && !drain(out_p[0], r.out, r.out_truncated, options.max_output)) close_fd(out_p[0]);
    if (fds[1].revents && !drain(err_p[0], r.err, r.err_truncated, options.max_output)) close_fd(err_p[0]);
  }

  int status = 0;
  pid_t w;
  do w = ::waitpid(pid, &status, 0);
  while (w < 0 && errno == EINTR);
  if (w == pid) {
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  } else {
    r.error = fmt::format("waitpid {}: {}", path, std::strerror(errno));
  }
  cleanup();
  return r;
}

}  // namespace dragon::util
