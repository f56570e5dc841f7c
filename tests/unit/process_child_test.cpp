// spawn(): argv without a shell, empty environment, own process group, PDEATHSIG, no fd leaks,
// exec errors reported at once, exit classification.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "process/child.hpp"
#include "process/state.hpp"
#include "process_test_helpers.hpp"

namespace dragon::process {
namespace {

using testing::pidfd_open;

constexpr int k_poll_ms = 20000;

bool readable(int fd, int timeout_ms = k_poll_ms) {
  pollfd p{fd, POLLIN, 0};
  int n;
  do n = ::poll(&p, 1, timeout_ms);
  while (n < 0 && errno == EINTR);
  return n == 1;
}

// Everything until EOF (the child and all holders of the pipe are gone).
std::string read_to_eof(int fd) {
  std::string out;
  char buf[4096];
  while (readable(fd)) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    break;
  }
  return out;
}

// One '\n'-terminated line.
std::string read_line(int fd) {
  std::string out;
  char c;
  while (readable(fd)) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0 || c == '\n') break;
    out += c;
  }
  return out;
}

Child must_spawn(std::vector<std::string> argv, std::vector<std::string> env = {}) {
  auto r = spawn(SpawnOptions{std::move(argv), std::move(env)});
  if (!r.child) throw std::runtime_error("spawn failed: " + r.error);
  return std::move(*r.child);
}

State run_to_exit(const std::string& script, ExitInfo* info = nullptr) {
  Child c = must_spawn({"/bin/sh", "-c", script});
  EXPECT_TRUE(readable(c.pidfd()));
  auto st = c.reap_group();
  EXPECT_TRUE(st.has_value());
  return classify_wait_status(st.value_or(0), info);
}

std::string status_field(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) {
      auto v = line.substr(key.size() + 1);
      return v.substr(v.find_first_not_of(" \t"));
    }
  return {};
}

TEST(ProcessChild, ExitClassificationAsUpstream) {
  ExitInfo info;
  EXPECT_EQ(run_to_exit("exit 0", &info), State::Finished);
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_EQ(run_to_exit("exit 255", &info), State::Finished);
  EXPECT_EQ(info.exit_code, 255);
  EXPECT_EQ(run_to_exit("exit 1", &info), State::Failed);
  EXPECT_EQ(info.exit_code, 1);
  EXPECT_EQ(run_to_exit("kill -TERM $$", &info), State::Killed);
  EXPECT_EQ(info.signal, SIGTERM);
  EXPECT_EQ(info.exit_code, -1);
}

TEST(ProcessChild, StderrIsPipedStdoutIsNot) {
  Child c = must_spawn({"/bin/sh", "-c", "echo out; echo err >&2; read x; echo \"stdin=[$x]\" >&2"});
  EXPECT_EQ(read_to_eof(c.stderr_fd()), "err\nstdin=[]\n");
  ASSERT_TRUE(c.reap_group().has_value());
}

TEST(ProcessChild, EnvironmentIsEmptyByDefault) {
  // /proc/$$/environ is exactly what execve handed the shell (the shell itself exports PWD later).
  Child c = must_spawn({"/bin/sh", "-c", "tr '\\0' '\\n' < /proc/$$/environ >&2"});
  EXPECT_EQ(read_to_eof(c.stderr_fd()), "");
  Child d = must_spawn({"/bin/sh", "-c", "tr '\\0' '\\n' < /proc/$$/environ >&2"}, {"FOO=bar", "X=1"});
  EXPECT_EQ(read_to_eof(d.stderr_fd()), "FOO=bar\nX=1\n");
}

TEST(ProcessChild, NoArgvShell) {
  // Metacharacters reach the program verbatim.
  Child c = must_spawn({"/bin/sh", "-c", "printf '%s\\n' \"$0\" \"$1\" >&2", "a;b", "$(x) | y"});
  EXPECT_EQ(read_to_eof(c.stderr_fd()), "a;b\n$(x) | y\n");
}

TEST(ProcessChild, MissingBinaryFailsAtOnceWithAClearMessage) {
  auto r = spawn(SpawnOptions{{"dragon-no-such-binary-xyz", "-v"}});
  EXPECT_FALSE(r.child.has_value());
  EXPECT_EQ(r.error, "dragon-no-such-binary-xyz: executable file not found in $PATH");

  r = spawn(SpawnOptions{{"/nonexistent/ffmpeg"}});
  EXPECT_FALSE(r.child.has_value());
  EXPECT_EQ(r.error, "exec /nonexistent/ffmpeg: No such file or directory");

  r = spawn(SpawnOptions{{"/"}});  // exists, not executable (even for root)
  EXPECT_FALSE(r.child.has_value());
  EXPECT_NE(r.error.find("Permission denied"), std::string::npos) << r.error;

  r = spawn(SpawnOptions{});
  EXPECT_FALSE(r.child.has_value());
  EXPECT_FALSE(r.error.empty());
}

TEST(ProcessChild, PathLookupHappensInTheParent) {
  // The child has no PATH of its own, yet a bare name resolves.
  Child c = must_spawn({"sh", "-c", "echo ok >&2"});
  EXPECT_EQ(read_to_eof(c.stderr_fd()), "ok\n");
}

TEST(ProcessChild, OwnProcessGroup) {
  Child c = must_spawn({"/bin/sleep", "100"});
  std::ifstream f("/proc/" + std::to_string(c.pid()) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 1));
  std::string state, ppid, pgrp;
  rest >> state >> ppid >> pgrp;
  EXPECT_EQ(pgrp, std::to_string(c.pid()));
  EXPECT_NE(::getpgrp(), c.pid());
}

TEST(ProcessChild, NoFdLeaksIntoTheChild) {
  int leaky = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(leaky, 0);
  int high = ::fcntl(leaky, F_DUPFD, 100);  // and one far up, past any fd the loader uses
  ASSERT_GE(high, 100);
  Child c = must_spawn({"/bin/sleep", "100"});
  ::close(leaky);
  ::close(high);
  // Looked at from outside: a lister of its own would open fds of its own. The dynamic loader
  // briefly holds fd 3 (ld.so.cache, libc) right after exec, so wait for it to settle.
  std::string dir = "/proc/" + std::to_string(c.pid()) + "/fd";
  std::vector<std::string> fds;
  auto list = [&] {
    fds.clear();
    for (const auto& e : std::filesystem::directory_iterator(dir)) fds.push_back(e.path().filename().string());
    std::sort(fds.begin(), fds.end());
    EXPECT_EQ(std::count(fds.begin(), fds.end(), std::to_string(high)), 0);
    return fds == std::vector<std::string>{"0", "1", "2"};
  };
  EXPECT_TRUE(testing::wait_until(list)) << ::testing::PrintToString(fds);
  EXPECT_EQ(std::filesystem::read_symlink(dir + "/0").string(), "/dev/null");
  EXPECT_EQ(std::filesystem::read_symlink(dir + "/1").string(), "/dev/null");
  EXPECT_EQ(std::filesystem::read_symlink(dir + "/2").string().rfind("pipe:", 0), 0u);
}

TEST(ProcessChild, SignalMaskAndIgnoredSignalsAreReset) {
  struct sigaction ign {}, old {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ign, &old);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  Child c = must_spawn({"/bin/sleep", "100"});
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGINT, &old, nullptr);

  EXPECT_EQ(status_field(c.pid(), "SigBlk"), "0000000000000000");
  EXPECT_EQ(status_field(c.pid(), "SigIgn"), "0000000000000000");
  ASSERT_TRUE(c.signal_group(SIGINT));
  ASSERT_TRUE(readable(c.pidfd()));
  ExitInfo info;
  EXPECT_EQ(classify_wait_status(c.reap_group().value_or(0), &info), State::Killed);
  EXPECT_EQ(info.signal, SIGINT);
}

TEST(ProcessChild, SignalReachesTheWholeGroup) {
  Child c = must_spawn({"/bin/sh", "-c", "sleep 100 & echo $! >&2; wait"});
  pid_t gc = std::stoi(read_line(c.stderr_fd()));
  int gfd = pidfd_open(gc);
  ASSERT_GE(gfd, 0);
  ASSERT_TRUE(c.signal_group(SIGKILL));
  EXPECT_TRUE(readable(gfd));
  ::close(gfd);
  ASSERT_TRUE(c.reap_group().has_value());
  EXPECT_FALSE(c.signal_group(SIGKILL));  // reaped: the group id is no longer ours
}

TEST(ProcessChild, ReapSweepsStrayGroupMembersAfterTheLeaderExits) {
  // A background job ignores SIGINT in a non-interactive shell and outlives its parent.
  Child c = must_spawn({"/bin/sh", "-c", "sleep 100 & echo $! >&2; exit 0"});
  pid_t gc = std::stoi(read_line(c.stderr_fd()));
  int gfd = pidfd_open(gc);
  ASSERT_GE(gfd, 0);
  ASSERT_TRUE(readable(c.pidfd()));
  auto st = c.reap_group();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(classify_wait_status(*st), State::Finished);
  EXPECT_TRUE(readable(gfd));
  ::close(gfd);
}

TEST(ProcessChild, DestroyingAnUnreapedChildKillsIt) {
  int fd;
  {
    Child c = must_spawn({"/bin/sleep", "100"});
    fd = pidfd_open(c.pid());
    ASSERT_GE(fd, 0);
  }
  EXPECT_TRUE(readable(fd, 0));
  ::close(fd);
}

TEST(ProcessChild, ChildDiesWithTheThreadThatSpawnedIt) {
  // A helper process spawns a child and is SIGKILLed: PR_SET_PDEATHSIG must take the child along.
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  pid_t helper = ::fork();
  ASSERT_GE(helper, 0);
  if (helper == 0) {
    auto r = spawn(SpawnOptions{{"/bin/sleep", "100"}});
    pid_t gc = r.child ? r.child->pid() : -1;
    ssize_t w = ::write(p[1], &gc, sizeof gc);
    (void)w;
    for (;;) ::pause();
  }
  ::close(p[1]);
  pid_t gc = -1;
  ASSERT_EQ(::read(p[0], &gc, sizeof gc), static_cast<ssize_t>(sizeof gc));
  ::close(p[0]);
  ASSERT_GT(gc, 0);
  int gfd = pidfd_open(gc);
  ASSERT_GE(gfd, 0);
  EXPECT_FALSE(readable(gfd, 0));
  ::kill(helper, SIGKILL);
  int st;
  ASSERT_EQ(::waitpid(helper, &st, 0), helper);
  EXPECT_TRUE(readable(gfd));
  ::close(gfd);
}

}  // namespace
}  // namespace dragon::process
