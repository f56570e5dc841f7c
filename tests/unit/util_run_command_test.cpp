// run_command: outputs, exit codes, signals, timeouts (whole group killed), output caps, the
// child's environment/fds/signal state, fd leaks in the parent, and concurrent use.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "util/run_command.hpp"

using dragon::util::find_executable;
using dragon::util::run_command;
using dragon::util::RunOptions;
using namespace std::chrono_literals;

namespace {

RunOptions with_timeout(std::chrono::milliseconds t) {
  RunOptions o;
  o.timeout = t;
  return o;
}

int count_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

// Gone, or a zombie waiting for a reaper that is not us.
bool process_gone(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return true;
  std::string s((std::istreambuf_iterator<char>(in)), {});
  auto close = s.rfind(')');
  return close != std::string::npos && close + 2 < s.size() && (s[close + 2] == 'Z' || s[close + 2] == 'X');
}

bool wait_gone(pid_t pid) {
  for (int i = 0; i < 200 && !process_gone(pid); ++i) std::this_thread::sleep_for(10ms);
  return process_gone(pid);
}

}  // namespace

TEST(RunCommand, CapturesStdoutAndStderrSeparatelyWithExitCode) {
  auto r = run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.ok());
  auto t = run_command({"true"});  // found via PATH
  EXPECT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.exit_code, 0);
}

TEST(RunCommand, NoShellInterpretation) {
  auto r = run_command({"/bin/echo", "$HOME", "a;b", "`x`", "*"});
  EXPECT_EQ(r.out, "$HOME a;b `x` *\n");
}

TEST(RunCommand, SignalledChild) {
  auto r = run_command({"/bin/sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(r.started);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST(RunCommand, EnvironmentIsEmptyUnlessGiven) {
  ::setenv("DRAGON_RUN_COMMAND_SECRET", "x", 1);
  auto r = run_command({"/usr/bin/env"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "");
  RunOptions o;
  o.env = {"A=1", "B=two words"};
  EXPECT_EQ(run_command({"/usr/bin/env"}, o).out, "A=1\nB=two words\n");
  ::unsetenv("DRAGON_RUN_COMMAND_SECRET");
}

TEST(RunCommand, StartFailures) {
  auto a = run_command({});
  EXPECT_FALSE(a.started);
  EXPECT_FALSE(a.error.empty());
  auto b = run_command({"dragon-no-such-program-xyz"});
  EXPECT_FALSE(b.started);
  EXPECT_NE(b.error.find("not found"), std::string::npos) << b.error;
  auto c = run_command({"/nonexistent/bin"});
  EXPECT_FALSE(c.started);
  EXPECT_NE(c.error.find("No such file"), std::string::npos) << c.error;
  auto dir = std::filesystem::temp_directory_path() / ("dragon-run-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto plain = dir / "plain", garbage = dir / "garbage";
  std::ofstream(plain) << "#!/bin/sh\necho hi\n";
  std::ofstream(garbage) << "\x01\x02 not a program";
  std::filesystem::permissions(plain, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::permissions(garbage, std::filesystem::perms::owner_all);
  auto d = run_command({plain.string()});  // no x bit: even root may not exec it
  auto e = run_command({garbage.string()});
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(d.started);
  EXPECT_NE(d.error.find("Permission denied"), std::string::npos) << d.error;
  EXPECT_FALSE(d.ok());
  EXPECT_FALSE(e.started);
  EXPECT_NE(e.error.find("Exec format error"), std::string::npos) << e.error;
}

TEST(RunCommand, FindExecutable) {
  EXPECT_EQ(find_executable("/x/y"), "/x/y");
  EXPECT_EQ(find_executable(""), "");
  EXPECT_EQ(find_executable("dragon-no-such-program-xyz"), "");
  EXPECT_FALSE(find_executable("sh").empty());
}

TEST(RunCommand, TimeoutKillsTheWholeGroup) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_command({"/bin/sh", "-c", "sleep 30 & echo $!; sleep 30"}, with_timeout(300ms));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r.started);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_FALSE(r.ok());
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 3s);
  pid_t bg = std::stoi(r.out);
  EXPECT_TRUE(wait_gone(bg)) << "background child " << bg << " survived";
}

TEST(RunCommand, LeftoversOfAnExitedLeaderAreKilled) {
  // The leader exits at once; its background child would hold stdout open for 30 s.
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_command({"/bin/sh", "-c", "sleep 30 & echo $!"}, with_timeout(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(wait_gone(std::stoi(r.out)));
}

TEST(RunCommand, EscapedDescendantDoesNotBlockForever) {
  if (find_executable("setsid").empty()) GTEST_SKIP() << "no setsid";
  auto t0 = std::chrono::steady_clock::now();
  // The pause lets setsid leave the group before the leader exits and we kill the group.
  auto r = run_command({"/bin/sh", "-c", "setsid sleep 20 & sleep 0.3; echo $!"}, with_timeout(10s));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(r.ok());
  EXPECT_GE(took, 1s);  // waited out the drain grace: the pipe stayed open
  EXPECT_LT(took, 4s);  // ~1 s drain grace, not 20 s
  pid_t escaped = std::stoi(r.out);
  ::kill(escaped, SIGKILL);
}

TEST(RunCommand, BigOutputIsCappedWithoutBlockingTheChild) {
  RunOptions o;
  o.max_output = 1 << 20;
  auto r = run_command({"/bin/sh", "-c", "head -c 20000000 /dev/zero; head -c 3000000 /dev/zero >&2; echo done >&2"},
                       o);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.out.size(), 1u << 20);
  EXPECT_EQ(r.err.size(), 1u << 20);
  EXPECT_TRUE(r.out_truncated);
  EXPECT_TRUE(r.err_truncated);
  auto small = run_command({"/bin/sh", "-c", "head -c 100000 /dev/zero"});
  EXPECT_EQ(small.out.size(), 100000u);
  EXPECT_FALSE(small.out_truncated);
}

TEST(RunCommand, DefaultCapIsEightMiB) {
  auto r = run_command({"/bin/sh", "-c", "head -c 9000000 /dev/zero"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out.size(), 8u * 1024 * 1024);
  EXPECT_TRUE(r.out_truncated);
}

TEST(RunCommand, StdinIsDevNull) {
  auto r = run_command({"/bin/cat"}, with_timeout(5s));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(run_command({"/bin/readlink", "/proc/self/fd/0"}).out, "/dev/null\n");
}

TEST(RunCommand, ChildSeesOnlyStdFds) {
  int leaky = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaky, 0);
  auto r = run_command({"/bin/ls", "/proc/self/fd"});
  ::close(leaky);
  ASSERT_TRUE(r.ok()) << r.err;
  std::set<std::string> fds;
  std::istringstream in(r.out);
  for (std::string s; in >> s;) fds.insert(s);
  // 3 is ls's own handle on the directory.
  for (const auto& fd : fds) EXPECT_TRUE(fd == "0" || fd == "1" || fd == "2" || fd == "3") << "leaked fd " << fd;
}

TEST(RunCommand, OwnProcessGroupAndCleanSignalState) {
  sigset_t block, old;
  ::sigemptyset(&block);
  ::sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  auto prev = ::signal(SIGPIPE, SIG_IGN);
  auto r = run_command({"/bin/cat", "/proc/self/status", "/proc/self/stat"});
  ::signal(SIGPIPE, prev);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r.out.find("SigBlk:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SigIgn:\t0000000000000000"), std::string::npos) << r.out;
  // /proc/self/stat: "pid (comm) state ppid pgrp ..." — the child leads its own group.
  auto stat = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  std::istringstream in(stat);
  std::string pid, comm, state, ppid, pgrp;
  in >> pid >> comm >> state >> ppid >> pgrp;
  EXPECT_EQ(pid, pgrp) << stat;
  EXPECT_EQ(ppid, std::to_string(::getpid()));
}

TEST(RunCommand, NoFdLeakOverManyRuns) {
  (void)run_command({"/bin/true"});  // warm-up: lazily opened library fds
  int before = count_fds();
  for (int i = 0; i < 50; ++i) {
    auto r = i % 5 == 4 ? run_command({"/bin/sh", "-c", "sleep 5"}, with_timeout(20ms))
                        : run_command({"/bin/sh", "-c", "echo x; echo y >&2"});
    ASSERT_TRUE(r.started) << r.error;
  }
  (void)run_command({"/nonexistent/x"});
  (void)run_command({"/proc/self/fd"});  // exec fails (a directory)
  EXPECT_EQ(count_fds(), before);
}

TEST(RunCommand, ConcurrentCallsAreIndependent) {
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([t, &bad] {
      for (int i = 0; i < 15; ++i) {
        auto tag = std::to_string(t) + "-" + std::to_string(i);
        auto r = run_command({"/bin/sh", "-c", "echo \"$1\"; echo \"$1\" >&2", "sh", tag});
        if (!r.ok() || r.out != tag + "\n" || r.err != tag + "\n") ++bad;
      }
    });
  }
  // A hung command on another thread does not hold the others up.
  threads.emplace_back([&bad] {
    auto r = run_command({"/bin/sleep", "30"}, with_timeout(500ms));
    if (!r.timed_out) ++bad;
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}
