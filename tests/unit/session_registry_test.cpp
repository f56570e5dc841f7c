// The session registry: lifecycle, limits, ignore list, timeouts, bitrate window, history and its
// persistence, and concurrent use.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "session/registry.hpp"
#include "util/atomic_file.hpp"
#include "util/random.hpp"

using namespace dragon;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> ms = std::make_shared<std::atomic<std::int64_t>>(1'000'000);
  session::ClockFn fn() const {
    return [ms = ms] { return session::Clock::time_point(std::chrono::milliseconds(ms->load())); };
  }
  void advance(std::chrono::milliseconds d) { *ms += d.count(); }
};

session::CollectorConfig config(std::uint64_t max_sessions = 0, double max_bitrate = 0) {
  session::CollectorConfig c;
  c.max_sessions = max_sessions;
  c.max_tx_bitrate = max_bitrate;
  c.ip_ignorelist = {"127.0.0.1/32", "::1/128"};
  c.session_timeout = 30s;
  c.pending_timeout = 5s;
  return c;
}

}  // namespace

TEST(SessionRegistry, PendingSessionsDoNotCountUntilActivated) {
  FakeClock clock;
  session::Registry r({.clock = clock.fn()});
  auto c = r.add("hls", config());
  EXPECT_TRUE(c->register_session("a", "ref", "/memfs/ref.m3u8", "192.0.2.1", "curl"));
  EXPECT_FALSE(c->register_session("a", "ref", "/memfs/ref.m3u8", "192.0.2.1"));
  EXPECT_EQ(c->active_count(), 0u);
  EXPECT_TRUE(c->active().empty());
  EXPECT_EQ(c->activate("a"), session::Admission::Ok);
  EXPECT_EQ(c->activate("a"), session::Admission::Ok);  // idempotent
  EXPECT_EQ(c->activate("nope"), session::Admission::Unknown);
  ASSERT_EQ(c->active().size(), 1u);
  const auto s = c->active().front();
  EXPECT_EQ(s.id, "a");
  EXPECT_EQ(s.reference, "ref");
  EXPECT_EQ(s.location, "/memfs/ref.m3u8");
  EXPECT_EQ(s.peer, "192.0.2.1");
  EXPECT_EQ(s.extra, "curl");
  EXPECT_EQ(c->totals().sessions_total, 1u);
}

TEST(SessionRegistry, MaxSessionsRefusesTheNextOne) {
  FakeClock clock;
  session::Registry r({.clock = clock.fn()});
  auto c = r.add("hls", config(2));
  EXPECT_EQ(c->open("a", "r", "l", "192.0.2.1"), session::Admission::Ok);
  EXPECT_EQ(c->admit(), session::Admission::Ok);
  // Two pending ones may wait; only activation counts.
  EXPECT_TRUE(c->register_session("b", "r", "l", "192.0.2.2"));
  EXPECT_TRUE(c->register_session("c", "r", "l", "192.0.2.3"));
  EXPECT_EQ(c->activate("b"), session::Admission::Ok);
  EXPECT_EQ(c->admit(), session::Admission::SessionsExceeded);
  EXPECT_EQ(c->activate("c"), session::Admission::SessionsExceeded);
  EXPECT_FALSE(c->exists("c"));  // a refused activation drops the pending session
  EXPECT_EQ(c->active_count(), 2u);
  EXPECT_EQ(session::admission_text(session::Admission::SessionsExceeded), "Number of sessions exceeded");
  // One leaves: room again.
  EXPECT_TRUE(c->close("a"));
  EXPECT_EQ(c->open("d", "r", "l", "192.0.2.4"), session::Admission::Ok);
}

TEST(SessionRegistry, MaxBitrateIsCheckedAgainstTheLimitedCollectorsTogether) {
  FakeClock clock;
  session::Registry r({.clock = clock.fn()});
  auto hls = r.add("hls", config(0, 1'000'000));  // 1 Mbit/s
  auto webrtc = r.add("webrtc", config(0, 1'000'000));
  auto unlimited = config();
  unlimited.limited = false;
  auto http = r.add("http", unlimited);
  ASSERT_EQ(hls->open("a", "r", "l", "192.0.2.1"), session::Admission::Ok);
  ASSERT_EQ(webrtc->open("w", "p", "l", "192.0.2.1"), session::Admission::Ok);
  ASSERT_EQ(http->open("HTTP", "", "any", "any"), session::Admission::Ok);
  http->egress("HTTP", 10'000'000);  // not limited: does not count
  EXPECT_EQ(hls->admit(), session::Admission::Ok);
  clock.advance(10s);  // past the collectors' youth: the full 10 s window divides
  hls->egress("a", 700'000);     // 560 kbit/s over 10 s
  EXPECT_EQ(hls->admit(), session::Admission::Ok);
  webrtc->egress("w", 700'000);  // together 1.12 Mbit/s
  EXPECT_EQ(hls->admit(), session::Admission::BitrateExceeded);
  EXPECT_EQ(webrtc->admit(), session::Admission::BitrateExceeded);
  // The window slides: 11 s later the bytes are gone.
  clock.advance(11s);
  EXPECT_EQ(hls->admit(), session::Admission::Ok);
}

TEST(SessionRegistry, IgnoreListIsCidr) {
  session::Registry r;
  auto cfg = config();
  cfg.ip_ignorelist = {"127.0.0.1/32", "::1/128", "10.0.0.0/8"};
  auto c = r.add("hls", cfg);
  EXPECT_FALSE(c->collectable("127.0.0.1"));
  EXPECT_FALSE(c->collectable("::1"));
  EXPECT_FALSE(c->collectable("10.1.2.3"));
  EXPECT_TRUE(c->collectable("127.0.0.2"));
  EXPECT_TRUE(c->collectable("192.0.2.1"));
  EXPECT_TRUE(c->collectable("2001:db8::1"));
  cfg.ip_ignorelist = {};
  c->set_config(cfg);
  EXPECT_TRUE(c->collectable("127.0.0.1"));
  cfg.ip_ignorelist = {"not-a-network"};
  EXPECT_THROW(c->set_config(cfg), std::invalid_argument);
  EXPECT_THROW(r.add("bad name", config()), std::invalid_argument);
  EXPECT_THROW(r.add("", config()), std::invalid_argument);
}

TEST(SessionRegistry, TimeoutsEndPendingAndIdleSessions) {
  FakeClock clock;
  session::Registry r({.clock = clock.fn()});
  auto c = r.add("hls", config());
  c->register_session("pending", "r", "l", "192.0.2.1");
  c->open("active", "r", "l", "192.0.2.2");
  clock.advance(4s);
  c->expire();
  EXPECT_TRUE(c->exists("pending"));
  clock.advance(1s);
  c->expire();
  EXPECT_FALSE(c->exists("pending"));  // 5 s without activity
  EXPECT_TRUE(c->exists("active"));
  clock.advance(20s);
  c->egress("active", 100);  // activity resets the idle timer
  clock.advance(29s);
  c->expire();
  EXPECT_TRUE(c->is_active("active"));
  clock.advance(1s);
  r.tick();
  EXPECT_FALSE(c->exists("active"));
  EXPECT_EQ(c->active_count(), 0u);
  // Into the history; the pending one is not.
  const auto sum = c->summary();
  EXPECT_EQ(sum.total.sessions, 1u);
  EXPECT_EQ(sum.total.tx_bytes, 100u);
  EXPECT_EQ(sum.references.at("r").sessions, 1u);
}

TEST(SessionRegistry, BitrateIsBytesOverTheSlidingWindow) {
  FakeClock clock;
  session::Registry r({.clock = clock.fn()});
  auto c = r.add("hls", config());
  c->open("a", "r", "l", "192.0.2.1");
  // A young session: its bytes over its age (at least 1 s), not over the whole window.
  c->egress("a", 125'000);  // 1 Mbit
  EXPECT_DOUBLE_EQ(c->active().front().tx_bitrate, 1'000'000);
  for (int i = 0; i < 20; ++i) {
    clock.advance(1s);
    c->egress("a", 125'000);  // 1 Mbit/s steady
  }
  // The last 10 one-second buckets hold 10 Mbit.
  EXPECT_DOUBLE_EQ(c->active().front().tx_bitrate, 1'000'000);
  EXPECT_EQ(c->active().front().tx_bytes, 21u * 125'000);
  c->ingress("a", 1250);
  EXPECT_DOUBLE_EQ(c->active().front().rx_bitrate, 1000);
  clock.advance(5s);
  EXPECT_DOUBLE_EQ(c->active().front().tx_bitrate, 500'000);  // half the window has no bytes
  clock.advance(5s);
  EXPECT_DOUBLE_EQ(c->active().front().tx_bitrate, 0);
  const auto t = c->totals();
  EXPECT_EQ(t.tx_bytes, 21u * 125'000);
  EXPECT_EQ(t.rx_bytes, 1250u);
  // Cumulative reports book their growth only.
  c->egress_total("a", 21u * 125'000 + 500);
  c->egress_total("a", 21u * 125'000 + 400);  // never backwards
  EXPECT_EQ(c->active().front().tx_bytes, 21u * 125'000 + 500);
}

TEST(SessionRegistry, SummaryGroupsTheHistoryLikeUpstream) {
  FakeClock clock;
  session::Registry r({.clock = clock.fn()});
  auto c = r.add("hls", config());
  c->open("1", "live", "/memfs/live.m3u8", "192.0.2.1");
  c->egress("1", 3 << 20);
  c->open("2", "live", "/memfs/live.m3u8", "192.0.2.1");
  c->egress("2", 1 << 20);
  c->open("3", "other", "/memfs/other.m3u8", "192.0.2.2");
  c->close("1");
  c->close("2");
  c->close("3");
  c->open("4", "live", "/memfs/live.m3u8", "192.0.2.9");  // active: not in the summary's history
  const auto sum = c->summary();
  EXPECT_EQ(sum.current_sessions, 1u);
  ASSERT_EQ(sum.active.size(), 1u);
  EXPECT_EQ(sum.total.sessions, 3u);
  EXPECT_EQ(sum.total.tx_bytes, 4u << 20);
  EXPECT_EQ(sum.peers.at("192.0.2.1").stats.sessions, 2u);
  EXPECT_EQ(sum.peers.at("192.0.2.1").locations.at("/memfs/live.m3u8").tx_bytes, 4u << 20);
  EXPECT_EQ(sum.locations.at("/memfs/other.m3u8").sessions, 1u);
  EXPECT_EQ(sum.references.at("live").sessions, 2u);
  EXPECT_EQ(c->totals().sessions_total, 4u);
}

TEST(SessionRegistry, HistoryPersistenceRoundTrip) {
  const auto dir = std::filesystem::temp_directory_path() / ("dragon-sessions-" + util::random_alnum(8));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "sessions.json").string();
  {
    session::Registry r({.persist_path = path, .persist_interval = 0s});
    auto c = r.add("hls", config());
    c->open("1", "live", "/memfs/live.m3u8", "192.0.2.1");
    c->egress("1", 1234);
    c->ingress("1", 56);
    c->close("1");
    auto w = r.add("webrtc", config());
    w->open("v", "proc", "whep:proc", "192.0.2.7");
    w->close("v");
    r.stop();  // saves
  }
  const auto text = util::read_file(path);
  ASSERT_TRUE(text);
  const auto doc = nlohmann::json::parse(*text);
  const auto& e = doc.at("hls").at("sessions").at("/memfs/live.m3u8:192.0.2.1:live");  // upstream's key
  EXPECT_EQ(e.at("total_sessions"), 1);
  EXPECT_EQ(e.at("total_txbytes"), 1234);
  EXPECT_EQ(e.at("total_rxbytes"), 56);
  EXPECT_EQ(e.at("location"), "/memfs/live.m3u8");
  {
    session::Registry r({.persist_path = path, .persist_interval = 0s});
    r.load();
    auto c = r.add("hls", config());  // registered after load: gets its history
    const auto sum = c->summary();
    EXPECT_EQ(sum.total.sessions, 1u);
    EXPECT_EQ(sum.total.tx_bytes, 1234u);
    EXPECT_EQ(sum.references.at("live").sessions, 1u);
    // "webrtc" is not registered this time: its history is kept in the file anyway.
    r.save();
    const auto again = nlohmann::json::parse(*util::read_file(path));
    EXPECT_TRUE(again.contains("webrtc"));
    EXPECT_EQ(again.at("webrtc").at("sessions").size(), 1u);
  }
  // A malformed file is refused (the caller then stops persisting instead of overwriting it).
  util::write_file_atomic(path, "{not json");
  session::Registry bad({.persist_path = path});
  EXPECT_THROW(bad.load(), std::invalid_argument);
  bad.set_persistence({}, 0s);
  std::filesystem::remove_all(dir);
}

TEST(SessionRegistry, PeriodicSaveFollowsTheInterval) {
  const auto dir = std::filesystem::temp_directory_path() / ("dragon-sessions-" + util::random_alnum(8));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "sessions.json").string();
  FakeClock clock;
  session::Registry r({.persist_path = path, .persist_interval = 60s, .clock = clock.fn()});
  r.add("hls", config());
  r.tick();
  EXPECT_FALSE(std::filesystem::exists(path));
  clock.advance(60s);
  r.tick();
  EXPECT_TRUE(std::filesystem::exists(path));
  r.set_persistence({}, 0s);
  std::filesystem::remove_all(dir);
}

TEST(SessionRegistry, ConcurrentViewersNeverExceedTheLimit) {
  session::Registry r;
  auto c = r.add("hls", config(50));
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        if (c->open(id, "r", "l", "192.0.2.1") == session::Admission::Ok) {
          ++admitted;
          c->egress(id, 100);
          (void)c->active();
          (void)c->summary();
          if (i % 3 == 0) c->close(id);
        }
        (void)r.limited_egress_bitrate();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(c->active_count(), 50u);
  EXPECT_GE(admitted.load(), 50);
  const auto sum = c->summary();
  EXPECT_EQ(sum.total.sessions + sum.current_sessions, static_cast<std::uint64_t>(admitted.load()));
}
