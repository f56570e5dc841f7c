#include "process/child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace dragon::process {
namespace {

// What the child reports through the exec pipe when a step before/at execve fails.
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

// The child dup2()s its fds onto 0..3: sources must not be among those numbers.
bool lift_fd(int& fd) {
  if (fd >= 3) return true;
  int n = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
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

// Runs between fork and execve: async-signal-safe calls only (no allocation, no locks).
[[noreturn]] void child_main(const char* path, char* const* argv, char* const* envp, int devnull,
                             int err_w, int exec_w, pid_t parent, int max_fd) {
  // Handlers are reset by execve, ignored dispositions are not; all signals are still blocked here.
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

  if (::dup2(devnull, 0) < 0 || ::dup2(devnull, 1) < 0 || ::dup2(err_w, 2) < 0) child_fail(exec_w, k_dup);
  if (exec_w != 3) {
    if (::dup3(exec_w, 3, O_CLOEXEC) < 0) child_fail(exec_w, k_dup);
    exec_w = 3;
  }
  // Nothing else of the server's leaks into FFmpeg (sockets, other children's pipes).
  if (::syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
    for (int fd = 4; fd < max_fd; ++fd) ::close(fd);
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(path, argv, envp);
  child_fail(exec_w, k_exec);
}

}  // namespace

std::string resolve_executable(std::string_view name, std::string& error) {
  if (name.empty()) {
    error = "empty executable name";
    return {};
  }
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
  error = fmt::format("{}: executable file not found in $PATH", name);
  return {};
}

SpawnResult spawn(const SpawnOptions& options) {
  SpawnResult result;
  if (options.argv.empty()) {
    result.error = "spawn: empty command line";
    return result;
  }
  std::string path = resolve_executable(options.argv[0], result.error);
  if (path.empty()) return result;

  // Everything the child needs is built before fork: the child must not allocate.
  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
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
  int err_pipe[2] = {-1, -1};
  int exec_pipe[2] = {-1, -1};
  auto cleanup = [&] {
    close_fd(devnull);
    close_fd(err_pipe[0]);
    close_fd(err_pipe[1]);
    close_fd(exec_pipe[0]);
    close_fd(exec_pipe[1]);
  };
  if (devnull < 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0 ||
      !lift_fd(devnull) || !lift_fd(err_pipe[1]) || !lift_fd(exec_pipe[1])) {
    result.error = fmt::format("spawn {}: {}", options.argv[0], std::strerror(errno));
    cleanup();
    return result;
  }

  // Signals stay blocked from fork until the child has reset its dispositions, so no handler of
  // ours ever runs in the child.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) child_main(path.c_str(), argv.data(), envp.data(), devnull, err_pipe[1], exec_pipe[1], parent, max_fd);
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close_fd(devnull);
  close_fd(err_pipe[1]);
  close_fd(exec_pipe[1]);
  if (pid < 0) {
    result.error = fmt::format("fork {}: {}", options.argv[0], std::strerror(fork_errno));
    cleanup();
    return result;
  }

  // EOF (CLOEXEC closed it) means execve succeeded.
  ExecFailure failure{};
  ssize_t n;
  do n = ::read(exec_pipe[0], &failure, sizeof failure);
  while (n < 0 && errno == EINTR);
  close_fd(exec_pipe[0]);
  if (n != 0) {
    int st;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (n == static_cast<ssize_t>(sizeof failure))
      result.error = fmt::format("{} {}: {}", stage_name(failure.stage), path, std::strerror(failure.err));
    else
      result.error = fmt::format("spawn {}: child died before exec", path);
    cleanup();
    return result;
  }

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int e = errno;
    ::kill(-pid, SIGKILL);
    int st;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    result.error = fmt::format("pidfd_open {}: {}", path, std::strerror(e));
    cleanup();
    return result;
  }
  ::fcntl(err_pipe[0], F_SETFL, ::fcntl(err_pipe[0], F_GETFL) | O_NONBLOCK);
  result.child.emplace(Child(pid, pidfd, std::exchange(err_pipe[0], -1)));
  return result;
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      err_fd_(std::exchange(other.err_fd_, -1)),
      reaped_(std::exchange(other.reaped_, false)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    err_fd_ = std::exchange(other.err_fd_, -1);
    reaped_ = std::exchange(other.reaped_, false);
  }
  return *this;
}

Child::~Child() { release(); }

void Child::release() {
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {}
    reaped_ = true;
  }
  close_fd(pidfd_);
  close_fd(err_fd_);
  pid_ = -1;
}

bool Child::signal_group(int sig) const {
  if (pid_ <= 0 || reaped_) return false;
  return ::kill(-pid_, sig) == 0;
}

std::optional<int> Child::reap_group() {
  if (pid_ <= 0 || reaped_) return std::nullopt;
  ::kill(-pid_, SIGKILL);  // the leader is a zombie: stray members of its group (e.g. `sleep &`) die
  int st = 0;
  pid_t r;
  do r = ::waitpid(pid_, &st, 0);
  while (r < 0 && errno == EINTR);
  reaped_ = true;
  if (r != pid_) return std::nullopt;
  return st;
}

void Child::close_stderr() { close_fd(err_fd_); }

}  // namespace dragon::process
