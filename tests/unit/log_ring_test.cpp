#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "log/log.hpp"

namespace dragon::log {
namespace {

// The logger is global: every test starts from an empty ring (max_lines 0 drops all entries) and
// keeps stderr quiet through a topic filter that matches nothing, unless it captures stderr itself.
Options quiet(Level level = Level::Info, std::size_t max_lines = 1000) {
  Options o;
  o.level = level;
  o.max_lines = max_lines;
  o.output = Output::Json;
  o.topics = {"no-such-topic"};
  return o;
}

void reset(const Options& o) {
  Options empty = o;
  empty.max_lines = 0;
  configure(empty);
  configure(o);
}

std::vector<std::string> messages() {
  std::vector<std::string> out;
  for (const auto& e : recent()) out.push_back(e.message);
  return out;
}

TEST(LogRing, KeepsOrderAndDropsOldest) {
  reset(quiet(Level::Info, 3));
  info("T", "1");
  info("T", "2");
  EXPECT_EQ(messages(), (std::vector<std::string>{"1", "2"}));
  info("T", "3");
  info("T", "4");
  info("T", "5");
  EXPECT_EQ(messages(), (std::vector<std::string>{"3", "4", "5"}));
}

TEST(LogRing, ReconfigureKeepsNewestEntries) {
  reset(quiet(Level::Info, 10));
  for (int i = 0; i < 6; ++i) info("T", std::to_string(i));
  configure(quiet(Level::Info, 4));
  EXPECT_EQ(messages(), (std::vector<std::string>{"2", "3", "4", "5"}));
  configure(quiet(Level::Info, 10));  // growing keeps everything
  info("T", "6");
  EXPECT_EQ(messages(), (std::vector<std::string>{"2", "3", "4", "5", "6"}));
}

TEST(LogRing, ZeroLinesStoresNothing) {
  reset(quiet(Level::Debug, 0));
  info("T", "x");
  EXPECT_TRUE(recent().empty());
}

TEST(LogRing, EntryContent) {
  reset(quiet());
  const auto before = std::chrono::system_clock::now();
  warn("Process", "Started", {{"id", "abc"}, {"n", 2}});
  const auto after = std::chrono::system_clock::now();
  const auto entries = recent();
  ASSERT_EQ(entries.size(), 1u);
  const auto& e = entries[0];
  EXPECT_EQ(e.level, Level::Warn);
  EXPECT_EQ(e.component, "Process");
  EXPECT_EQ(e.message, "Started");
  ASSERT_EQ(e.fields.size(), 2u);
  EXPECT_EQ(e.fields[0].first, "id");
  EXPECT_EQ(e.fields[0].second, "abc");
  EXPECT_EQ(e.fields[1].second, 2);
  EXPECT_GE(e.ts, before);
  EXPECT_LE(e.ts, after);
}

TEST(LogLevelFilter, EntriesAboveLevelAreDropped) {
  reset(quiet(Level::Warn));
  debug("T", "debug");
  info("T", "info");
  warn("T", "warn");
  error("T", "error");
  EXPECT_EQ(messages(), (std::vector<std::string>{"warn", "error"}));
  EXPECT_TRUE(enabled(Level::Error));
  EXPECT_TRUE(enabled(Level::Warn));
  EXPECT_FALSE(enabled(Level::Info));
  EXPECT_FALSE(enabled(Level::Debug));
  EXPECT_FALSE(enabled(Level::Silent));
}

TEST(LogLevelFilter, DebugKeepsEverything) {
  reset(quiet(Level::Debug));
  debug("T", "d");
  info("T", "i");
  write(Level::Silent, "T", "never");  // not a real level for an entry
  EXPECT_EQ(messages(), (std::vector<std::string>{"d", "i"}));
}

TEST(LogLevelFilter, SilentStoresAndPrintsNothing) {
  auto o = quiet(Level::Silent);
  o.topics.clear();
  reset(o);
  testing::internal::CaptureStderr();
  error("T", "e");
  info("T", "i");
  const auto err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "");
  EXPECT_TRUE(recent().empty());
  EXPECT_FALSE(enabled(Level::Error));
}

TEST(LogOutput, JsonLinesOnStderrAndTopicFilter) {
  Options o;
  o.level = Level::Info;
  o.output = Output::Json;
  o.topics = {"http", "CORE"};  // case-insensitive
  reset(o);
  testing::internal::CaptureStderr();
  info("HTTP", "shown", {{"a", 1}});
  info("Process", "hidden");
  info("Core", "shown too");
  const auto err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find(R"("component":"HTTP","msg":"shown","a":1})" "\n"), std::string::npos) << err;
  EXPECT_NE(err.find(R"("msg":"shown too")"), std::string::npos) << err;
  EXPECT_EQ(err.find("hidden"), std::string::npos) << err;
  // The topic filter affects stderr only: the ring has all three.
  EXPECT_EQ(messages(), (std::vector<std::string>{"shown", "hidden", "shown too"}));
}

TEST(LogOutput, HumanLinesOnStderr) {
  Options o;
  o.output = Output::Human;
  reset(o);
  testing::internal::CaptureStderr();
  info("Core", "Read config", {{"path", "/x"}});
  const auto err = testing::internal::GetCapturedStderr();
  ASSERT_GE(err.size(), 20u);
  EXPECT_EQ(err.substr(19), " INFO  [Core] Read config path=/x\n");
}

TEST(LogThreads, ConcurrentWritersKeepRingBoundedAndLinesWhole) {
  Options o;
  o.level = Level::Debug;
  o.max_lines = 100;
  o.output = Output::Json;
  reset(o);
  constexpr int k_threads = 6;
  constexpr int k_per_thread = 300;
  testing::internal::CaptureStderr();
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < k_per_thread; ++i) {
        info("Thread" + std::to_string(t), "message", {{"i", i}, {"pad", std::string(200, 'x')}});
        if (i % 50 == 0) (void)recent();
      }
    });
  }
  // Concurrent reconfiguration must be safe too.
  for (int i = 0; i < 20; ++i) {
    o.max_lines = 50 + static_cast<std::size_t>(i % 2) * 50;
    configure(o);
  }
  for (auto& th : threads) th.join();
  const auto err = testing::internal::GetCapturedStderr();

  const auto entries = recent();
  EXPECT_LE(entries.size(), 100u);
  EXPECT_GE(entries.size(), 50u);
  // Within one thread, order is preserved in the ring.
  std::vector<int> last(k_threads, -1);
  for (const auto& e : entries) {
    const int t = std::stoi(e.component.substr(6));
    const int i = e.fields.at(0).second.get<int>();
    EXPECT_GT(i, last[static_cast<std::size_t>(t)]);
    last[static_cast<std::size_t>(t)] = i;
  }
  // Every stderr line is one complete JSON document.
  std::size_t lines = 0;
  std::size_t start = 0;
  while (start < err.size()) {
    const auto nl = err.find('\n', start);
    ASSERT_NE(nl, std::string::npos);
    const auto line = err.substr(start, nl - start);
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
    ++lines;
    start = nl + 1;
  }
  EXPECT_EQ(lines, static_cast<std::size_t>(k_threads * k_per_thread));
}

}  // namespace
}  // namespace dragon::log

namespace dragon::log {
namespace {

// Defaults before configure(): Info, 1000 lines. "threadsafe" death tests re-execute the binary,
// so the child sees the logger's untouched initial state.
TEST(LogDefaultsDeathTest, InfoAndThousandLinesBeforeConfigure) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        bool ok = enabled(Level::Info) && enabled(Level::Error) && !enabled(Level::Debug);
        ::close(2);  // keep the child's stderr lines out of the test output
        for (int i = 0; i < 1005; ++i) info("T", std::to_string(i));
        debug("T", "hidden");
        const auto r = recent();
        ok = ok && r.size() == 1000 && r.front().message == "5" && r.back().message == "1004";
        std::_Exit(ok ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace dragon::log
