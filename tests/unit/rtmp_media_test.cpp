// FLV / Enhanced RTMP classification, stream paths and tokens, and the hub (fan-out, drops, GOP cache).
#include <gtest/gtest.h>

#include "rtmp/flv.hpp"
#include "rtmp/hub.hpp"
#include "rtmp/path.hpp"

namespace dragon::rtmp {
namespace {

using Bytes = std::vector<std::uint8_t>;

Payload bytes(Bytes b) { return std::make_shared<Bytes>(std::move(b)); }

// ---- FLV / E-RTMP --------------------------------------------------------------------------------------

TEST(RtmpFlv, LegacyAvc) {
  auto v = flv::classify_video(Bytes{0x17, 0x00, 0, 0, 0, 1, 0x64});
  EXPECT_TRUE(v.valid);
  EXPECT_TRUE(v.sequence_header);
  EXPECT_FALSE(v.keyframe);
  EXPECT_EQ(v.codec_id, 7);
  EXPECT_EQ(flv::fourcc_name(v.fourcc), "avc1");
  v = flv::classify_video(Bytes{0x17, 0x01, 0, 0, 0, 0, 0, 0, 5, 0x65});
  EXPECT_TRUE(v.keyframe);
  EXPECT_FALSE(v.sequence_header);
  v = flv::classify_video(Bytes{0x27, 0x01, 0, 0, 0});
  EXPECT_FALSE(v.keyframe);
  EXPECT_TRUE(v.has_frame_data);
  EXPECT_EQ(v.frame, flv::VideoFrame::Inter);
  v = flv::classify_video(Bytes{0x17, 0x02, 0, 0, 0});
  EXPECT_TRUE(v.sequence_end);
  EXPECT_FALSE(v.keyframe);
  v = flv::classify_video(Bytes{0x1C, 0x00});  // legacy HEVC extension (codec 12)
  EXPECT_TRUE(v.sequence_header);
  EXPECT_EQ(flv::fourcc_name(v.fourcc), "hvc1");
  v = flv::classify_video(Bytes{0x57, 0x00});  // command frame
  EXPECT_FALSE(v.keyframe);
  EXPECT_FALSE(v.sequence_header);
  EXPECT_FALSE(flv::classify_video(Bytes{0x17}).valid);
  EXPECT_FALSE(flv::classify_video(Bytes{}).valid);
  EXPECT_FALSE(flv::classify_video(Bytes{0x07, 0x01}).valid);  // frame type 0
}

TEST(RtmpFlv, EnhancedRtmpVideo) {
  // 0x80 | FrameType << 4 | PacketType, then the FourCC.
  auto v = flv::classify_video(Bytes{0x90, 'h', 'v', 'c', '1', 1, 2, 3});  // key, SequenceStart
  EXPECT_TRUE(v.valid);
  EXPECT_TRUE(v.enhanced);
  EXPECT_TRUE(v.sequence_header);
  EXPECT_FALSE(v.keyframe);
  EXPECT_EQ(v.fourcc, flv::fourcc("hvc1"));
  v = flv::classify_video(Bytes{0x91, 'h', 'v', 'c', '1', 0, 0, 0, 9});  // key, CodedFrames
  EXPECT_TRUE(v.keyframe);
  v = flv::classify_video(Bytes{0x93, 'a', 'v', '0', '1', 9});  // key, CodedFramesX
  EXPECT_TRUE(v.keyframe);
  EXPECT_EQ(flv::fourcc_name(v.fourcc), "av01");
  v = flv::classify_video(Bytes{0xA3, 'v', 'p', '0', '9', 9});  // inter, CodedFramesX
  EXPECT_FALSE(v.keyframe);
  EXPECT_TRUE(v.has_frame_data);
  v = flv::classify_video(Bytes{0x92, 'a', 'v', '0', '1'});  // SequenceEnd
  EXPECT_TRUE(v.sequence_end);
  v = flv::classify_video(Bytes{0x94, 'a', 'v', '0', '1', 2});  // Metadata
  EXPECT_FALSE(v.keyframe);
  EXPECT_FALSE(v.sequence_header);
  v = flv::classify_video(Bytes{0x95, 'a', 'v', '0', '1', 2});  // MPEG2-TS sequence start (AV1)
  EXPECT_TRUE(v.sequence_header);
  v = flv::classify_video(Bytes{0xD1, 'h', 'v', 'c', '1', 0});  // command frame: no picture
  EXPECT_FALSE(v.keyframe);
  v = flv::classify_video(Bytes{0x96, 0x00, 'h', 'v', 'c', '1'});  // Multitrack: passed through
  EXPECT_TRUE(v.valid);
  EXPECT_FALSE(v.keyframe);
  EXPECT_FALSE(flv::classify_video(Bytes{0x91, 'h', 'v'}).valid);  // FourCC cut short
}

TEST(RtmpFlv, Audio) {
  auto a = flv::classify_audio(Bytes{0xAF, 0x00, 0x12, 0x10});
  EXPECT_TRUE(a.sequence_header);
  EXPECT_EQ(a.sound_format, 10);
  a = flv::classify_audio(Bytes{0xAF, 0x01, 0x21});
  EXPECT_FALSE(a.sequence_header);
  a = flv::classify_audio(Bytes{0x2F, 0xFF});  // MP3
  EXPECT_TRUE(a.valid);
  EXPECT_FALSE(a.sequence_header);
  a = flv::classify_audio(Bytes{0x90, 'O', 'p', 'u', 's', 1});  // E-RTMP v2 SequenceStart
  EXPECT_TRUE(a.enhanced);
  EXPECT_TRUE(a.sequence_header);
  EXPECT_EQ(flv::fourcc_name(a.fourcc), "Opus");
  a = flv::classify_audio(Bytes{0x91, 'O', 'p', 'u', 's', 1});
  EXPECT_FALSE(a.sequence_header);
  EXPECT_FALSE(flv::classify_audio(Bytes{0xAF}).valid);
}

// ---- paths and tokens ----------------------------------------------------------------------------------

TEST(RtmpPath, ResolveAsUpstream) {
  auto t = resolve_target("live", "test", false);
  EXPECT_EQ(t.path, "/live/test");
  EXPECT_FALSE(t.has_token);
  t = resolve_target("live", "test?token=abc&x=1", true);
  EXPECT_EQ(t.path, "/live/test");
  EXPECT_EQ(t.token, "abc");
  t = resolve_target("live?token=a%20b", "test", true);  // token in the tcUrl/app query
  EXPECT_EQ(t.token, "a b");
  EXPECT_EQ(t.path, "/live/test");
  t = resolve_target("live/test", "SECRET", true);  // FFmpeg's split of /live/test/SECRET
  EXPECT_EQ(t.path, "/live/test");
  EXPECT_EQ(t.token, "SECRET");
  t = resolve_target("live", "test/SECRET", true);
  EXPECT_EQ(t.path, "/live/test");
  EXPECT_EQ(t.token, "SECRET");
  t = resolve_target("live", "test/SECRET", false);  // no token configured: the path stays whole
  EXPECT_EQ(t.path, "/live/test/SECRET");
  t = resolve_target("", "abc.stream", false);
  EXPECT_EQ(t.path, "/abc.stream");
  // FFmpeg's split of rtmp://host/abc.stream?token=x (what {rtmp,name=abc.stream} makes): all in the app.
  t = resolve_target("abc.stream?token=x", "", true);
  EXPECT_EQ(t.path, "/abc.stream");
  EXPECT_EQ(t.token, "x");
  t = resolve_target("", "", false);
  EXPECT_TRUE(t.path.empty());
  EXPECT_FALSE(t.error.empty());
  t = resolve_target("/", "/", false);
  EXPECT_TRUE(t.path.empty());
  t = resolve_target("live", "../etc", false);
  EXPECT_TRUE(t.path.empty());
  t = resolve_target("live", std::string("a\nb"), false);
  EXPECT_TRUE(t.path.empty());
  t = resolve_target("live", std::string(600, 'x'), false);
  EXPECT_TRUE(t.path.empty());
  EXPECT_EQ(app_from_tc_url("rtmp://host:1935/live?token=x"), "live?token=x");
  EXPECT_EQ(app_from_tc_url("rtmp://host"), "");
}

TEST(RtmpPath, AppPrefixAndReference) {
  EXPECT_TRUE(app_matches("/anything", "/"));
  EXPECT_TRUE(app_matches("/live/x", "/live"));
  EXPECT_TRUE(app_matches("/live/x", "/live/"));
  EXPECT_FALSE(app_matches("/lively/x", "/live"));
  EXPECT_FALSE(app_matches("/other/x", "/live"));
  EXPECT_EQ(session_reference("/abc.stream", "/"), "abc");
  EXPECT_EQ(session_reference("/live/foo.stream", "/live"), "foo");
  EXPECT_EQ(session_reference("/live/foo", "/"), "live/foo");
  EXPECT_EQ(session_reference("/live/foo.bar/baz", "/live"), "foo.bar/baz");
  EXPECT_TRUE(token_equal("abc", "abc"));
  EXPECT_FALSE(token_equal("abc", "abd"));
  EXPECT_FALSE(token_equal("abc", "abcd"));
  EXPECT_FALSE(token_equal("", "x"));
}

// ---- hub -----------------------------------------------------------------------------------------------

class FakePlayer : public Subscriber {
 public:
  std::size_t queued_bytes() const override { return queued; }
  void deliver(const PacketRef& p, std::uint32_t ts) override {
    got.push_back(p);
    timestamps.push_back(ts);
    queued += p->size();
  }
  void publisher_gone() override { gone = true; }
  void drain() { queued = 0; }

  std::size_t queued = 0;
  std::vector<PacketRef> got;
  std::vector<std::uint32_t> timestamps;
  bool gone = false;
};

PacketRef video(std::uint32_t ts, bool key, std::size_t size = 100) {
  Bytes b(size, 0);
  b[0] = key ? 0x17 : 0x27;
  b[1] = 1;
  return make_packet(k_video, ts, bytes(std::move(b)));
}
PacketRef video_header() { return make_packet(k_video, 0, bytes({0x17, 0x00, 0, 0, 0, 1})); }
PacketRef audio(std::uint32_t ts, std::size_t size = 20) {
  Bytes b(size, 0);
  b[0] = 0xAF;
  b[1] = 1;
  return make_packet(k_audio, ts, bytes(std::move(b)));
}
PacketRef audio_header() { return make_packet(k_audio, 0, bytes({0xAF, 0x00, 0x12, 0x10})); }
PacketRef metadata() { return make_packet(k_data_amf0, 0, bytes({0x02, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a'})); }

TEST(RtmpHub, OnePublisherPerPath) {
  Hub hub;
  auto a = hub.publish("/live/a", "1.2.3.4:5");
  ASSERT_TRUE(a);
  EXPECT_FALSE(hub.publish("/live/a", "6.7.8.9:1"));  // CONFLICT
  auto b = hub.publish("/live/b", "x");
  EXPECT_EQ(hub.paths(), (std::vector<std::string>{"/live/a", "/live/b"}));
  EXPECT_EQ(hub.find("/live/a"), a);
  EXPECT_EQ(hub.find("/live/c"), nullptr);
  hub.unpublish(a);
  EXPECT_EQ(hub.paths(), (std::vector<std::string>{"/live/b"}));
  EXPECT_TRUE(hub.publish("/live/a", "again"));
}

TEST(RtmpHub, NewPlayerStartsAtTheCachedKeyframeWithHeadersFirst) {
  Hub hub;
  auto ch = hub.publish("/live/a", "pub");
  ch->set_metadata(metadata());
  ch->publish(video_header());
  ch->publish(audio_header());
  ch->publish(video(0, true));
  ch->publish(audio(10));
  ch->publish(video(40, false));
  ch->publish(video(2000, true));  // a new GOP starts: the cache restarts here
  ch->publish(audio(2010));
  ch->publish(video(2040, false));
  ASSERT_TRUE(ch->gop_valid());
  ASSERT_EQ(ch->gop().size(), 3u);

  FakePlayer p;
  ch->add_player(&p);
  ASSERT_EQ(p.got.size(), 6u);
  EXPECT_EQ(p.got[0]->type, k_data_amf0);
  EXPECT_TRUE(p.got[1]->sequence_header);
  EXPECT_EQ(p.got[1]->type, k_video);
  EXPECT_TRUE(p.got[2]->sequence_header);
  EXPECT_EQ(p.got[2]->type, k_audio);
  EXPECT_TRUE(p.got[3]->keyframe);
  EXPECT_EQ(p.got[3]->timestamp, 2000u);
  // Rebased to start at 0.
  EXPECT_EQ(p.timestamps[3], 0u);
  EXPECT_EQ(p.timestamps[4], 10u);
  EXPECT_EQ(p.timestamps[5], 40u);
  // Shared, not copied.
  EXPECT_EQ(p.got[3].get(), ch->gop()[0].get());

  // Live packets follow.
  ch->publish(video(2080, false));
  EXPECT_EQ(p.got.back()->timestamp, 2080u);
  EXPECT_EQ(p.timestamps.back(), 80u);
}

TEST(RtmpHub, WithoutCacheAPlayerWaitsForTheNextKeyframe) {
  Hub hub;
  auto ch = hub.publish("/live/a", "pub");
  ch->publish(video_header());
  FakePlayer p;
  ch->add_player(&p);
  ASSERT_EQ(p.got.size(), 1u);  // only the header: no keyframe seen yet
  ch->publish(video(40, false));
  ch->publish(audio(50));
  EXPECT_EQ(p.got.size(), 2u);  // audio flows, the inter frame does not
  ch->publish(video(80, true));
  EXPECT_EQ(p.got.size(), 3u);
  EXPECT_TRUE(p.got.back()->keyframe);
}

TEST(RtmpHub, SlowPlayerDropsOnlyItselfUntilTheNextKeyframe) {
  Hub hub(ChannelOptions{.cache_max_bytes = 1 << 20, .player_queue_bytes = 1000});
  std::uint64_t drop_calls = 0;
  hub.on_drop = [&] { ++drop_calls; };
  auto ch = hub.publish("/live/a", "pub");
  FakePlayer fast, slow;
  ch->add_player(&fast);
  ch->add_player(&slow);
  ch->publish(video(0, true, 300));
  for (std::uint32_t i = 1; i <= 6; ++i) {
    ch->publish(video(i * 40, false, 300));
    fast.drain();  // the fast player's socket keeps up; the slow one never drains
  }
  EXPECT_EQ(fast.got.size(), 7u);
  // The slow one took 3 × 300 bytes, then dropped the rest.
  EXPECT_EQ(slow.got.size(), 3u);
  EXPECT_EQ(ch->stats().drops, 4u);
  EXPECT_EQ(drop_calls, 4u);
  // Draining does not resume video mid-GOP: inter frames stay dropped until a keyframe.
  slow.drain();
  ch->publish(video(280, false, 300));
  EXPECT_EQ(slow.got.size(), 3u);
  EXPECT_EQ(ch->stats().drops, 5u);
  ch->publish(audio(290));
  EXPECT_EQ(slow.got.size(), 4u);  // audio within budget flows
  ch->publish(video(320, true, 300));
  EXPECT_EQ(slow.got.size(), 5u);
  EXPECT_TRUE(slow.got.back()->keyframe);
  EXPECT_EQ(fast.got.size(), 10u);
  // Sequence headers are never dropped, even over budget.
  slow.queued = 5000;
  ch->publish(video_header());
  EXPECT_TRUE(slow.got.back()->sequence_header);
}

TEST(RtmpHub, TheJoiningBurstIsAdmittedWholeAndTheBudgetAppliesAfterIt) {
  Hub hub(ChannelOptions{.cache_max_bytes = 1 << 20, .player_queue_bytes = 500});
  auto ch = hub.publish("/live/a", "pub");
  ch->publish(video(0, true, 300));
  ch->publish(video(40, false, 300));
  ch->publish(video(80, false, 300));
  FakePlayer p;
  ch->add_player(&p);
  EXPECT_EQ(p.got.size(), 3u);  // 900 bytes > 500: still all of the cache
  EXPECT_EQ(ch->stats().drops, 0u);
  ch->publish(video(120, false, 300));  // live, over budget while the burst is unsent
  EXPECT_EQ(p.got.size(), 3u);
  EXPECT_EQ(ch->stats().drops, 1u);
}

TEST(RtmpHub, MediaIsChunkedOnceWithTheDeltaToThePreviousMessageOfItsKind) {
  Hub hub(ChannelOptions{.chunk_size = 128});
  auto ch = hub.publish("/live/a", "pub");
  FakePlayer p;
  ch->add_player(&p);
  ch->set_metadata(metadata());
  ch->publish(video(1000, true, 300));
  ch->publish(audio(1010));
  ch->publish(video(1040, false, 300));
  ch->publish(audio(1033));
  ch->publish(video(1020, false, 300));  // backwards: no plain delta
  ASSERT_EQ(p.got.size(), 6u);
  EXPECT_TRUE(p.got[0]->wire.empty());  // data
  EXPECT_TRUE(p.got[1]->wire.empty());  // the first of its kind
  EXPECT_TRUE(p.got[2]->wire.empty());
  EXPECT_EQ(p.got[3]->wire_delta, 40u);
  EXPECT_EQ(p.got[3]->wire_chunk_size, 128u);
  Bytes expected;
  ChunkWriter::write_delta(k_csid_video, k_video, 40, *p.got[3]->payload, 128, expected);
  EXPECT_EQ(p.got[3]->wire, expected);
  EXPECT_EQ(p.got[4]->wire_delta, 23u);
  EXPECT_FALSE(p.got[4]->wire.empty());
  EXPECT_TRUE(p.got[5]->wire.empty());
}

TEST(RtmpHub, CacheIsBoundedInBytes) {
  Hub hub(ChannelOptions{.cache_max_bytes = 1000, .player_queue_bytes = 1 << 20});
  auto ch = hub.publish("/live/a", "pub");
  ch->publish(video(0, true, 400));
  ch->publish(video(40, false, 400));
  EXPECT_TRUE(ch->gop_valid());
  ch->publish(video(80, false, 400));  // 1200 > 1000: invalid until the next keyframe
  EXPECT_FALSE(ch->gop_valid());
  EXPECT_TRUE(ch->gop().empty());
  FakePlayer p;
  ch->add_player(&p);
  EXPECT_TRUE(p.got.empty());
  ch->publish(video(120, true, 400));
  EXPECT_TRUE(ch->gop_valid());
  EXPECT_EQ(p.got.size(), 1u);
}

TEST(RtmpHub, PublisherLeavingTellsEveryPlayer) {
  Hub hub;
  auto ch = hub.publish("/live/a", "pub");
  FakePlayer a, b, c;
  ch->add_player(&a);
  ch->add_player(&b);
  ch->add_player(&c);
  ch->remove_player(&b);
  EXPECT_EQ(ch->players(), 2u);
  hub.unpublish(ch);
  EXPECT_TRUE(a.gone);
  EXPECT_FALSE(b.gone);
  EXPECT_TRUE(c.gone);
  EXPECT_EQ(ch->players(), 0u);
  EXPECT_TRUE(ch->ended());
  EXPECT_TRUE(hub.paths().empty());
  // Joining an ended channel ends at once.
  FakePlayer late;
  ch->add_player(&late);
  EXPECT_TRUE(late.gone);
}

TEST(RtmpHub, StatsNameCodecsAndCountBytes) {
  Hub hub;
  auto ch = hub.publish("/live/a", "10.0.0.1:1234");
  ch->publish(video_header());
  ch->publish(audio_header());
  ch->publish(video(0, true, 100));
  FakePlayer p;
  ch->add_player(&p);
  ch->add_tx_bytes(500);
  const auto s = ch->stats();
  EXPECT_EQ(s.path, "/live/a");
  EXPECT_EQ(s.publisher, "10.0.0.1:1234");
  EXPECT_EQ(s.players, 1u);
  EXPECT_EQ(s.video_codec, "avc1");
  EXPECT_EQ(s.audio_codec, "aac");
  EXPECT_EQ(s.rx_bytes, 6u + 4u + 100u);
  EXPECT_EQ(s.tx_bytes, 500u);
  EXPECT_EQ(s.packets, 3u);
}

}  // namespace
}  // namespace dragon::rtmp
