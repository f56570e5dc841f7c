// The Supervisor with real children (/bin/sh scripts): upstream's state machine, stop/kill,
// reconnect, restart, stale timeout, resource limits, process groups, fd hygiene, threading.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "process/supervisor.hpp"
#include "process_test_helpers.hpp"

namespace dragon::process {
namespace {

using namespace testing;

class ProcessSupervisor : public ::testing::Test {
 protected:
  void SetUp() override { quiet_logs(); }
  Reactor reactor_;
};

bool pidfd_exited(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST_F(ProcessSupervisor, RunEmitsLinesAndFinishes) {
  Recorder rec;
  Supervisor s(reactor_, sh("printf 'a\\rb\\nc\\r\\n\\nd' >&2; echo out; exit 0"), rec.callbacks());
  EXPECT_EQ(s.snapshot().state, State::Finished);
  EXPECT_EQ(s.snapshot().order, Order::Stop);
  s.start();
  EXPECT_EQ(s.order(), Order::Start);
  ASSERT_TRUE(wait_until([&] { return entered(s.snapshot(), State::Finished) == 1; }));
  EXPECT_EQ(rec.lines(), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(rec.states(), (std::vector<State>{State::Starting, State::Running, State::Finished}));
  EXPECT_TRUE(rec.transitions_valid());
  auto snap = s.snapshot();
  EXPECT_EQ(snap.order, Order::Start);
  EXPECT_EQ(snap.pid, 0);
  EXPECT_EQ(snap.reconnect_seconds, -1);  // reconnect disabled
  EXPECT_TRUE(snap.last_exit.valid);
  EXPECT_EQ(snap.last_exit.exit_code, 0);
  EXPECT_EQ(snap.last_exit.reason, StopReason::None);
  EXPECT_EQ(entered(snap, State::Starting), 1u);
  EXPECT_EQ(entered(snap, State::Running), 1u);
  EXPECT_GE(snap.runtime_seconds, 0.0);
  auto changes = rec.changes();
  EXPECT_GT(changes[1].pid, 0);  // running carries the pid
  EXPECT_EQ(reactor_.state_counters()[static_cast<std::size_t>(State::Finished)], 1u);
}

TEST_F(ProcessSupervisor, ExitCodesMapAsUpstream) {
  struct Case {
    const char* script;
    State state;
    int code;
  };
  for (const auto& c : {Case{"exit 1", State::Failed, 1}, Case{"exit 255", State::Finished, 255},
                        Case{"kill -KILL $$", State::Killed, -1}}) {
    Recorder rec;
    Supervisor s(reactor_, sh(c.script), rec.callbacks());
    s.start();
    ASSERT_TRUE(wait_until([&] { return s.snapshot().last_exit.valid; })) << c.script;
    auto snap = s.snapshot();
    EXPECT_EQ(snap.state, c.state) << c.script;
    EXPECT_EQ(snap.last_exit.exit_code, c.code) << c.script;
    EXPECT_TRUE(rec.transitions_valid());
  }
}

TEST_F(ProcessSupervisor, StopSendsSigintAndExit255IsFinished) {
  Recorder rec;
  Supervisor s(reactor_, sh("trap 'exit 255' INT; echo ready >&2; while :; do sleep 1; done"), rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return rec.has_line("ready"); }));
  s.stop();  // waits
  auto snap = s.snapshot();
  EXPECT_EQ(snap.state, State::Finished);
  EXPECT_EQ(snap.order, Order::Stop);
  EXPECT_EQ(snap.last_exit.exit_code, 255);
  EXPECT_EQ(snap.last_exit.reason, StopReason::Order);
  EXPECT_EQ(rec.states(),
            (std::vector<State>{State::Starting, State::Running, State::Finishing, State::Finished}));
  EXPECT_EQ(rec.changes().back().reason, StopReason::Order);
  EXPECT_TRUE(rec.transitions_valid());
  EXPECT_EQ(snap.reconnect_seconds, -1);
}

TEST_F(ProcessSupervisor, IgnoredSigintIsFollowedBySigkill) {
  Recorder rec;
  auto cfg = sh("trap '' INT; echo ready >&2; while :; do sleep 1; done");
  cfg.kill_timeout = 300ms;
  Supervisor s(reactor_, cfg, rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return rec.has_line("ready"); }));
  auto t0 = std::chrono::steady_clock::now();
  s.stop();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 290ms);
  auto snap = s.snapshot();
  EXPECT_EQ(snap.state, State::Killed);
  EXPECT_EQ(snap.last_exit.signal, SIGKILL);
  EXPECT_TRUE(rec.transitions_valid());
}

TEST_F(ProcessSupervisor, MissingBinaryFailsAtOnce) {
  Recorder rec;
  SupervisorConfig cfg;
  cfg.argv = {"/nonexistent/ffmpeg", "-i", "x"};
  Supervisor s(reactor_, cfg, rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().state == State::Failed; }));
  auto snap = s.snapshot();
  EXPECT_EQ(snap.last_exit.error, "exec /nonexistent/ffmpeg: No such file or directory");
  EXPECT_TRUE(rec.has_line("exec /nonexistent/ffmpeg: No such file or directory"));
  EXPECT_EQ(rec.states(), (std::vector<State>{State::Starting, State::Failed}));
  EXPECT_EQ(snap.reconnect_seconds, -1);
  EXPECT_EQ(snap.order, Order::Start);
}

TEST_F(ProcessSupervisor, SpawnFailureReconnectsUntilStopped) {
  Recorder rec;
  SupervisorConfig cfg;
  cfg.argv = {"dragon-no-such-binary"};
  cfg.reconnect = true;
  cfg.reconnect_delay = 50ms;
  Supervisor s(reactor_, cfg, rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return entered(s.snapshot(), State::Failed) >= 3; }));
  EXPECT_TRUE(rec.has_line("dragon-no-such-binary: executable file not found in $PATH"));
  s.stop();
  auto snap = s.snapshot();
  EXPECT_EQ(snap.reconnect_seconds, -1);
  auto starts = entered(snap, State::Starting);
  std::this_thread::sleep_for(300ms);  // several delays: nothing may start any more
  EXPECT_EQ(entered(s.snapshot(), State::Starting), starts);
  EXPECT_TRUE(rec.transitions_valid());
}

TEST_F(ProcessSupervisor, ReconnectsAfterTheDelay) {
  Recorder rec;
  auto cfg = sh("echo run >&2; exit 1");
  cfg.reconnect = true;
  cfg.reconnect_delay = 200ms;
  Supervisor s(reactor_, cfg, rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return entered(s.snapshot(), State::Starting) >= 3; }));
  s.stop();
  auto changes = rec.changes();
  auto times = rec.times();
  int gaps = 0;
  for (std::size_t i = 1; i < changes.size(); ++i) {
    if (changes[i - 1].to == State::Failed && changes[i].to == State::Starting) {
      EXPECT_GE(times[i] - times[i - 1], 190ms);
      ++gaps;
    }
  }
  EXPECT_GE(gaps, 2);
  EXPECT_TRUE(rec.transitions_valid());
}

TEST_F(ProcessSupervisor, ReconnectSecondsCountsDown) {
  auto cfg = sh("exit 1");
  cfg.reconnect = true;
  cfg.reconnect_delay = 10s;
  Supervisor s(reactor_, cfg);
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().state == State::Failed; }));
  auto r = s.snapshot().reconnect_seconds;
  EXPECT_GT(r, 5.0);
  EXPECT_LE(r, 10.0);
  s.stop();
  EXPECT_EQ(s.snapshot().reconnect_seconds, -1);
  EXPECT_EQ(entered(s.snapshot(), State::Starting), 1u);
}

TEST_F(ProcessSupervisor, NoReconnectWithoutTheOption) {
  Supervisor s(reactor_, sh("exit 1"));
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().state == State::Failed; }));
  std::this_thread::sleep_for(200ms);
  auto snap = s.snapshot();
  EXPECT_EQ(entered(snap, State::Starting), 1u);
  EXPECT_EQ(snap.reconnect_seconds, -1);
  // As upstream: start() is a no-op while the order is start; stop() + start() runs it again.
  s.start();
  s.stop();
  s.start();
  ASSERT_TRUE(wait_until([&] { return entered(s.snapshot(), State::Starting) == 2; }));
}

TEST_F(ProcessSupervisor, RestartKeepsTheOrderAndComesBackThroughReconnect) {
  Recorder rec;
  auto cfg = sh("echo ready >&2; exec sleep 100");
  cfg.reconnect = true;
  Supervisor s(reactor_, cfg, rec.callbacks());
  EXPECT_FALSE(s.restart());  // order stop: nothing to do
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().state == State::Running; }));
  pid_t first = s.snapshot().pid;
  EXPECT_TRUE(s.restart(true));
  ASSERT_TRUE(wait_until([&] {
    auto n = s.snapshot();
    return n.state == State::Running && n.pid != first;
  }));
  auto snap = s.snapshot();
  EXPECT_EQ(snap.order, Order::Start);
  EXPECT_EQ(snap.last_exit.reason, StopReason::Restart);
  EXPECT_EQ(entered(snap, State::Starting), 2u);
  s.stop();
  EXPECT_TRUE(rec.transitions_valid());
}

TEST_F(ProcessSupervisor, RestartWithoutReconnectStaysDown) {
  Supervisor s(reactor_, sh("exec sleep 100"));
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().state == State::Running; }));
  EXPECT_TRUE(s.restart(true));
  auto snap = s.snapshot();
  EXPECT_EQ(snap.state, State::Killed);  // sleep dies of the SIGINT
  EXPECT_EQ(snap.order, Order::Start);
  EXPECT_EQ(snap.reconnect_seconds, -1);
}

TEST_F(ProcessSupervisor, StaleTimeoutStopsAndReconnects) {
  Recorder rec;
  auto cfg = sh("echo ready >&2; exec sleep 100");
  cfg.stale_timeout = 300ms;
  cfg.sample_interval = 50ms;
  cfg.reconnect = true;
  Supervisor s(reactor_, cfg, rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return entered(s.snapshot(), State::Starting) >= 2; }));
  auto snap = s.snapshot();
  EXPECT_EQ(snap.last_exit.reason, StopReason::Stale);
  EXPECT_EQ(snap.order, Order::Start);
  s.stop();
  EXPECT_TRUE(rec.transitions_valid());
}

TEST_F(ProcessSupervisor, ProgressKeepsAStaleTimeoutAway) {
  Recorder rec;
  auto cfg = sh("while :; do echo frame=1 >&2; sleep 0.05; done");
  cfg.stale_timeout = 1000ms;
  cfg.sample_interval = 50ms;
  cfg.reconnect = true;
  std::shared_ptr<Supervisor> s;
  std::atomic<Supervisor*> target{nullptr};
  s = std::make_shared<Supervisor>(reactor_, cfg, rec.callbacks([&](std::string_view) {
    if (auto* p = target.load()) p->progress();  // called on the reactor thread, as a parser would
  }));
  target = s.get();
  s->start();
  ASSERT_TRUE(wait_until([&] { return rec.line_count() >= 30; }));  // > 1.5 s of output
  auto snap = s->snapshot();
  EXPECT_EQ(entered(snap, State::Starting), 1u);
  EXPECT_EQ(snap.state, State::Running);
  s->stop();
  target = nullptr;
}

TEST_F(ProcessSupervisor, CpuLimitStopsABusyLoop) {
  auto cfg = sh("while :; do :; done");
  cfg.limits.cpu_percent = 5;
  cfg.limits.waitfor = 1s;
  Supervisor s(reactor_, cfg);
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().last_exit.valid; }));
  auto snap = s.snapshot();
  EXPECT_EQ(snap.last_exit.reason, StopReason::CpuLimit);
  EXPECT_GT(snap.cpu_percent, 5.0);
  EXPECT_EQ(snap.state, State::Killed);  // the shell dies of SIGINT
  EXPECT_EQ(snap.order, Order::Start);
  EXPECT_GE(entered(snap, State::Finishing), 1u);
}

TEST_F(ProcessSupervisor, MemoryLimitStopsAGrowingProcess) {
  // The shell doubles a string to 16 MiB and keeps it.
  auto cfg = sh("a=x; i=0; while [ $i -lt 24 ]; do a=\"$a$a\"; i=$((i+1)); done; echo grown >&2; "
                "while :; do sleep 1; done");
  cfg.limits.memory_bytes = 8u << 20;
  cfg.sample_interval = 100ms;
  Recorder rec;
  Supervisor s(reactor_, cfg, rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().last_exit.valid; }));
  auto snap = s.snapshot();
  EXPECT_EQ(snap.last_exit.reason, StopReason::MemoryLimit);
  EXPECT_GT(snap.memory_bytes, 8u << 20);  // possibly caught while still growing
}

TEST_F(ProcessSupervisor, SamplesCpuAndMemoryWhileRunning) {
  auto cfg = sh("exec sleep 100");
  cfg.sample_interval = 50ms;
  Supervisor s(reactor_, cfg);
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().memory_bytes > 0; }));
  auto snap = s.snapshot();
  EXPECT_GT(snap.pid, 0);
  EXPECT_LT(snap.cpu_percent, 50.0);
  s.stop();
}

TEST_F(ProcessSupervisor, ChildEnvironmentIsEmptyOrExplicit) {
  const char* script = "tr '\\0' '\\n' < /proc/$$/environ >&2; echo done >&2";
  Recorder a;
  Supervisor s1(reactor_, sh(script), a.callbacks());
  s1.start();
  ASSERT_TRUE(wait_until([&] { return a.has_line("done"); }));
  auto cfg = sh(script);
  cfg.env = {"A=1"};
  Recorder b;
  Supervisor s2(reactor_, cfg, b.callbacks());
  s2.start();
  ASSERT_TRUE(wait_until([&] { return b.has_line("done"); }));
  ASSERT_TRUE(wait_until([&] { return !is_running(s1.snapshot().state) && !is_running(s2.snapshot().state); }));
  EXPECT_EQ(a.lines(), (std::vector<std::string>{"done"}));
  EXPECT_EQ(b.lines(), (std::vector<std::string>{"A=1", "done"}));
}

TEST_F(ProcessSupervisor, StopTakesTheWholeProcessGroup) {
  Recorder rec;
  // A background job ignores SIGINT: only the group sweep at the leader's exit gets it.
  Supervisor s(reactor_, sh("sleep 100 & echo $! >&2; echo ready >&2; wait"), rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return rec.has_line("ready"); }));
  pid_t gc = std::stoi(rec.lines().at(0));
  int fd = pidfd_open(gc);
  ASSERT_GE(fd, 0);
  s.stop();
  EXPECT_TRUE(pidfd_exited(fd, 20000));
  ::close(fd);
}

TEST_F(ProcessSupervisor, GrandchildHoldingStderrDoesNotHideTheExit) {
  // The grandchild keeps the pipe open; the exit is seen through the pidfd all the same.
  Recorder rec;
  Supervisor s(reactor_, sh("sleep 100 & echo $! >&2; exit 3"), rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().last_exit.valid; }));
  EXPECT_EQ(s.snapshot().last_exit.exit_code, 3);
  int fd = pidfd_open(std::stoi(rec.lines().at(0)));
  if (fd >= 0) {  // ENOSRCH: already gone
    EXPECT_TRUE(pidfd_exited(fd, 20000));
    ::close(fd);
  }
}

TEST_F(ProcessSupervisor, DestroyingKillsAndReapsTheChild) {
  int fd = -1;
  {
    Supervisor s(reactor_, sh("exec sleep 100"));
    s.start();
    ASSERT_TRUE(wait_until([&] { return s.snapshot().pid > 0; }));
    fd = pidfd_open(s.snapshot().pid);
    ASSERT_GE(fd, 0);
  }
  EXPECT_TRUE(pidfd_exited(fd, 0));
  ::close(fd);
}

TEST_F(ProcessSupervisor, StopFromInsideACallbackDoesNotDeadlock) {
  std::atomic<Supervisor*> self{nullptr};
  Recorder rec;
  auto s = std::make_unique<Supervisor>(reactor_, sh("echo hi >&2; exec sleep 100"), rec.callbacks([&](std::string_view) {
    if (auto* p = self.load()) p->stop();  // on the reactor thread: must not wait
  }));
  self = s.get();
  s->start();
  ASSERT_TRUE(wait_until([&] { return s->snapshot().last_exit.valid; }));
  EXPECT_EQ(s->order(), Order::Stop);
  self = nullptr;
}

TEST_F(ProcessSupervisor, StartWhileFinishingRunsAgainAfterTheExit) {
  Recorder rec;
  auto cfg = sh("trap '' INT; echo ready >&2; while :; do sleep 1; done");
  cfg.kill_timeout = 300ms;
  Supervisor s(reactor_, cfg, rec.callbacks());
  s.start();
  ASSERT_TRUE(wait_until([&] { return rec.has_line("ready"); }));
  s.stop(false);
  ASSERT_TRUE(wait_until([&] { return s.snapshot().state == State::Finishing; }));
  s.start();
  ASSERT_TRUE(wait_until([&] { return entered(s.snapshot(), State::Running) == 2; }));
  EXPECT_EQ(s.snapshot().order, Order::Start);
  s.stop();
  EXPECT_TRUE(rec.transitions_valid());
}

TEST_F(ProcessSupervisor, NoFdLeaksOverManyCycles) {
  auto cfg = sh("exec sleep 100");
  Supervisor s(reactor_, cfg);
  // One cycle first: lazily opened fds (the log, procfs) must not count as leaks.
  s.start();
  ASSERT_TRUE(wait_until([&] { return s.snapshot().pid > 0; }));
  s.stop();
  std::size_t before = open_fds();
  for (int i = 0; i < 50; ++i) {
    s.start();
    ASSERT_TRUE(wait_until([&] { return s.snapshot().pid > 0; }));
    s.stop();
    ASSERT_EQ(s.snapshot().pid, 0);
  }
  EXPECT_EQ(open_fds(), before);
  EXPECT_EQ(entered(s.snapshot(), State::Starting), 51u);
}

TEST_F(ProcessSupervisor, ManySupervisorsShareOneReactor) {
  std::vector<std::unique_ptr<Supervisor>> all;
  std::vector<std::unique_ptr<Recorder>> recs;
  for (int i = 0; i < 20; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    all.push_back(std::make_unique<Supervisor>(reactor_, sh("echo line$$ >&2; exit 0"), recs.back()->callbacks()));
    all.back()->start();
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_TRUE(wait_until([&] { return all[i]->snapshot().last_exit.valid; }));
    EXPECT_EQ(all[i]->snapshot().state, State::Finished);
    EXPECT_EQ(recs[i]->line_count(), 1u);
  }
  EXPECT_EQ(reactor_.state_counters()[static_cast<std::size_t>(State::Starting)], 20u);
}

TEST_F(ProcessSupervisor, ConcurrentStartStopFromManyThreads) {
  Recorder rec;
  auto cfg = sh("exec sleep 100");
  cfg.kill_timeout = 500ms;
  Supervisor s(reactor_, cfg, rec.callbacks());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 25; ++i) {
        switch (rng() % 4) {
          case 0: s.start(); break;
          case 1: s.stop(rng() % 2 == 0); break;
          case 2: s.restart(); break;
          default: (void)s.snapshot(); s.progress(); break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  s.stop();
  auto snap = s.snapshot();
  EXPECT_FALSE(is_running(snap.state));
  EXPECT_EQ(snap.pid, 0);
  EXPECT_TRUE(rec.transitions_valid());
}

}  // namespace
}  // namespace dragon::process
