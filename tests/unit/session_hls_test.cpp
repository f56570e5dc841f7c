// HLS sessions over plain file serving: a viewer (IP + playlist) counts once it fetches a segment
// after the playlist; limits answer at the playlist or at the first segment; ingress booking.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "session/hls.hpp"

using namespace dragon;
using namespace std::chrono_literals;
using session::Admission;

namespace {

session::CollectorConfig config(std::uint64_t max_sessions = 0) {
  session::CollectorConfig c;
  c.max_sessions = max_sessions;
  c.ip_ignorelist = {"127.0.0.1/32", "::1/128"};
  return c;
}

}  // namespace

TEST(SessionHls, Kinds) {
  EXPECT_EQ(session::hls_kind("/memfs/a.m3u8"), session::HlsKind::Playlist);
  EXPECT_EQ(session::hls_kind("/memfs/a.M3U8"), session::HlsKind::Playlist);
  EXPECT_EQ(session::hls_kind("/memfs/a_001.ts"), session::HlsKind::Segment);
  EXPECT_EQ(session::hls_kind("/memfs/a/init.mp4"), session::HlsKind::Segment);
  EXPECT_EQ(session::hls_kind("/memfs/a/1.m4s"), session::HlsKind::Segment);
  EXPECT_EQ(session::hls_kind("/memfs/a.json"), session::HlsKind::Other);
  EXPECT_EQ(session::hls_kind("/memfs/dir.ts/file"), session::HlsKind::Other);
}

TEST(SessionHls, ViewerCountsAfterASegmentFollowsThePlaylist) {
  session::Registry r;
  auto c = r.add("hls", config());
  session::HlsEgress hls(c);
  auto d = hls.request("192.0.2.1", "/memfs/live.m3u8", "hls.js");
  ASSERT_EQ(d.admission, Admission::Ok);
  ASSERT_FALSE(d.session_id.empty());
  hls.sent(d.session_id, 300);
  EXPECT_EQ(c->active_count(), 0u);  // the playlist alone is not a viewer
  auto s = hls.request("192.0.2.1", "/memfs/live_0001.ts");
  EXPECT_EQ(s.session_id, d.session_id);
  hls.sent(s.session_id, 100000);
  ASSERT_EQ(c->active().size(), 1u);
  const auto info = c->active().front();
  EXPECT_EQ(info.reference, "live");
  EXPECT_EQ(info.location, "/memfs/live.m3u8");
  EXPECT_EQ(info.peer, "192.0.2.1");
  EXPECT_EQ(info.extra, "hls.js");
  EXPECT_EQ(info.tx_bytes, 100300u);
  // Polling the playlist again is the same session.
  EXPECT_EQ(hls.request("192.0.2.1", "/memfs/live.m3u8").session_id, d.session_id);
  // Another address is another viewer; another playlist of the same address too.
  hls.request("192.0.2.2", "/memfs/live.m3u8");
  hls.request("192.0.2.2", "/memfs/live_0002.ts");
  hls.request("192.0.2.1", "/memfs/other.m3u8");
  EXPECT_EQ(c->active_count(), 2u);
}

TEST(SessionHls, SegmentsGoToTheLatestPlaylistOfTheirDirectory) {
  session::Registry r;
  auto c = r.add("hls", config());
  session::HlsEgress hls(c);
  const auto master = hls.request("192.0.2.1", "/memfs/ch/master.m3u8").session_id;
  const auto variant = hls.request("192.0.2.1", "/memfs/ch/720p.m3u8").session_id;
  const auto elsewhere = hls.request("192.0.2.1", "/memfs/x.m3u8").session_id;
  EXPECT_NE(master, variant);
  EXPECT_EQ(hls.request("192.0.2.1", "/memfs/ch/720p_1.ts").session_id, variant);
  EXPECT_FALSE(c->is_active(master));
  EXPECT_FALSE(c->is_active(elsewhere));
  EXPECT_TRUE(c->is_active(variant));
}

TEST(SessionHls, IgnoredAddressesAreNeitherCountedNorLimited) {
  session::Registry r;
  auto c = r.add("hls", config(1));
  session::HlsEgress hls(c);
  hls.request("192.0.2.1", "/memfs/live.m3u8");
  hls.request("192.0.2.1", "/memfs/live_1.ts");
  ASSERT_EQ(c->active_count(), 1u);
  for (const char* ip : {"127.0.0.1", "::1"}) {
    auto d = hls.request(ip, "/memfs/live.m3u8");
    EXPECT_EQ(d.admission, Admission::Ok);
    EXPECT_TRUE(d.session_id.empty());
    EXPECT_EQ(hls.request(ip, "/memfs/live_1.ts").admission, Admission::Ok);
  }
  EXPECT_EQ(c->active_count(), 1u);
  // Files that are not HLS are never sessions.
  EXPECT_EQ(hls.request("192.0.2.9", "/memfs/thumb.jpg").admission, Admission::Ok);
}

TEST(SessionHls, TheViewerBeyondMaxSessionsIsRefused) {
  session::Registry r;
  auto c = r.add("hls", config(2));
  session::HlsEgress hls(c);
  // Three viewers fetch the playlist before any segment: all pending.
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) {
    EXPECT_EQ(hls.request(ip, "/memfs/live.m3u8").admission, Admission::Ok);
  }
  EXPECT_EQ(hls.request("192.0.2.1", "/memfs/live_1.ts").admission, Admission::Ok);
  EXPECT_EQ(hls.request("192.0.2.2", "/memfs/live_1.ts").admission, Admission::Ok);
  // The third is refused at its first segment...
  EXPECT_EQ(hls.request("192.0.2.3", "/memfs/live_1.ts").admission, Admission::SessionsExceeded);
  // ...and a fourth at its playlist.
  EXPECT_EQ(hls.request("192.0.2.4", "/memfs/live.m3u8").admission, Admission::SessionsExceeded);
  // Guessing segment names without a playlist does not get around it.
  EXPECT_EQ(hls.request("192.0.2.5", "/memfs/live_1.ts").admission, Admission::SessionsExceeded);
  // The admitted viewers keep watching.
  EXPECT_EQ(hls.request("192.0.2.1", "/memfs/live.m3u8").admission, Admission::Ok);
  EXPECT_EQ(hls.request("192.0.2.1", "/memfs/live_2.ts").admission, Admission::Ok);
  EXPECT_EQ(c->active_count(), 2u);
}

TEST(SessionHls, ViewerEndsAfterTheTimeoutAndComesBackAsANewSession) {
  std::atomic<std::int64_t> ms{1'000'000};
  session::Registry r({.clock = [&ms] { return session::Clock::time_point(std::chrono::milliseconds(ms.load())); }});
  auto cfg = config();
  cfg.session_timeout = 10s;
  auto c = r.add("hls", cfg);
  session::HlsEgress hls(c);
  hls.request("192.0.2.1", "/memfs/live.m3u8");
  hls.request("192.0.2.1", "/memfs/live_1.ts");
  EXPECT_EQ(c->active_count(), 1u);
  ms += 10'000;
  r.tick();
  EXPECT_EQ(c->active_count(), 0u);
  EXPECT_EQ(c->summary().total.sessions, 1u);
  hls.request("192.0.2.1", "/memfs/live.m3u8");
  hls.request("192.0.2.1", "/memfs/live_5.ts");
  EXPECT_EQ(c->active_count(), 1u);
  EXPECT_EQ(c->totals().sessions_total, 2u);
}

TEST(SessionHls, ConcurrentViewers) {
  session::Registry r;
  auto c = r.add("hls", config(100));
  session::HlsEgress hls(c);
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int v = 0; v < 30; ++v) {  // 120 viewers
        const std::string ip = "10.0." + std::to_string(t) + "." + std::to_string(v + 1);
        for (int round = 0; round < 3; ++round) {
          auto p = hls.request(ip, "/memfs/live.m3u8");
          if (p.admission != Admission::Ok) {
            ++refused;
            break;
          }
          hls.sent(p.session_id, 200);
          auto s = hls.request(ip, "/memfs/live_" + std::to_string(round) + ".ts");
          if (s.admission != Admission::Ok) {
            ++refused;
            break;
          }
          hls.sent(s.session_id, 1000);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->active_count(), 100u);
  EXPECT_EQ(refused.load(), 20);
}

TEST(SessionHls, IngressBooksThePlaylistAndItsSegments) {
  session::Registry r;
  auto cfg = config();
  cfg.ip_ignorelist = {};  // FFmpeg uploads from loopback
  auto c = r.add("hlsingress", cfg);
  session::HlsIngress in(c);
  in.uploaded("127.0.0.1", "/memfs/live_1.ts", 1000, {});
  in.uploaded("127.0.0.1", "/memfs/live_2.ts", 2000, {});
  in.uploaded("127.0.0.1", "/memfs/other/x_1.ts", 5000, {});
  const std::string playlist = "#EXTM3U\n#EXTINF:2.0,\nlive_1.ts\n#EXTINF:2.0,\n/memfs/live_2.ts?x=1\n";
  in.uploaded("127.0.0.1", "/memfs/live.m3u8", playlist.size(), playlist);
  ASSERT_EQ(c->active().size(), 1u);
  const auto s = c->active().front();
  EXPECT_EQ(s.id, "/memfs/live.m3u8");
  EXPECT_EQ(s.reference, "live");
  EXPECT_EQ(s.rx_bytes, playlist.size() + 3000);
  // Segments are booked once.
  in.uploaded("127.0.0.1", "/memfs/live.m3u8", playlist.size(), playlist);
  EXPECT_EQ(c->active().front().rx_bytes, 2 * playlist.size() + 3000);
}
