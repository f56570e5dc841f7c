// Skills: the pure parsers against FFmpeg 5.1.9's captured output (tests/data/ffmpeg/skills/, the
// same Debian build upstream's sample came from, so the JSON must be identical), upstream's own
// parser test cases, hostile text, and a real detection against /usr/bin/ffmpeg.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <unistd.h>

#include "ffmpeg/skills.hpp"

using namespace dragon::ffmpeg;
namespace fs = std::filesystem;
using oj = nlohmann::ordered_json;

namespace {

const fs::path kData = fs::path(DRAGON_SOURCE_DIR) / "tests" / "data" / "ffmpeg" / "skills";
constexpr const char* kFFmpeg = "/usr/bin/ffmpeg";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

oj upstream() { return oj::parse(slurp(kData / "upstream_skills.json")); }

std::string kind(const oj& v) { return v.is_number() ? "number" : v.type_name(); }

// Same keys in the same order and the same JSON types, recursively. An array element of ours must
// have the shape of some element of theirs (the one at the same index is tried first).
bool same_shape(const oj& ours, const oj& theirs, const std::string& where, std::string* why) {
  if (kind(ours) != kind(theirs)) {
    if (why) *why = where + ": " + kind(ours) + " vs " + kind(theirs);
    return false;
  }
  if (ours.is_object()) {
    std::vector<std::string> ok, tk;
    for (auto it = ours.begin(); it != ours.end(); ++it) ok.push_back(it.key());
    for (auto it = theirs.begin(); it != theirs.end(); ++it) tk.push_back(it.key());
    if (ok != tk) {
      if (why) *why = where + ": keys differ";
      return false;
    }
    for (const auto& k : ok)
      if (!same_shape(ours[k], theirs[k], where + "." + k, why)) return false;
  }
  if (ours.is_array() && !theirs.empty()) {
    for (std::size_t i = 0; i < ours.size(); ++i) {
      auto at = where + "[" + std::to_string(i) + "]";
      if (i < theirs.size() && same_shape(ours[i], theirs[i], at, nullptr)) continue;
      bool found = std::any_of(theirs.begin(), theirs.end(),
                               [&](const oj& t) { return same_shape(ours[i], t, at, nullptr); });
      if (!found) {
        same_shape(ours[i], theirs[std::min(i, theirs.size() - 1)], at, why);
        return false;
      }
    }
  }
  return true;
}

Skills from_captures() {
  Skills s;
  s.ffmpeg = parse_skills_version(slurp(kData / "version.txt"));
  s.filters = parse_skills_filters(slurp(kData / "filters.txt"));
  s.hwaccels = parse_skills_hwaccels(slurp(kData / "hwaccels.txt"));
  s.codecs = parse_skills_codecs(slurp(kData / "codecs.txt"));
  s.formats = parse_skills_formats(slurp(kData / "formats.txt"));
  s.devices = parse_skills_devices(slurp(kData / "devices.txt"));
  s.protocols = parse_skills_protocols(slurp(kData / "protocols.txt"));
  return s;
}

const SkillsCodec* find_codec(const std::vector<SkillsCodec>& list, std::string_view id) {
  for (const auto& c : list)
    if (c.id == id) return &c;
  return nullptr;
}

bool has_entry(const std::vector<SkillsEntry>& list, std::string_view id) {
  return std::any_of(list.begin(), list.end(), [&](const SkillsEntry& e) { return e.id == id; });
}

bool contains(const std::optional<std::vector<std::string>>& list, std::string_view name) {
  return list && std::find(list->begin(), list->end(), name) != list->end();
}

}  // namespace

// ---- upstream equality ----

TEST(FFmpegSkills, CapturedOutputGivesUpstreamsExactJson) {
  oj ours = skills_to_json(from_captures());
  oj theirs = upstream();
  // Same FFmpeg build as upstream's sample, no devices attached on either host: byte-identical.
  for (const char* k : {"ffmpeg", "filter", "hwaccels", "codecs", "devices", "formats", "protocols"})
    EXPECT_EQ(ours[k].dump(), theirs[k].dump()) << k;
  EXPECT_EQ(ours.dump(), theirs.dump());
}

TEST(FFmpegSkills, ShapeMatchesUpstream) {
  std::string why;
  EXPECT_TRUE(same_shape(skills_to_json(from_captures()), upstream(), "$", &why)) << why;
}

TEST(FFmpegSkills, EmptySkillsStillHaveEveryKeyWithArrays) {
  oj j = skills_to_json(Skills{});
  oj t = upstream();
  std::vector<std::string> ok, tk;
  for (auto it = j.begin(); it != j.end(); ++it) ok.push_back(it.key());
  for (auto it = t.begin(); it != t.end(); ++it) tk.push_back(it.key());
  EXPECT_EQ(ok, tk);
  EXPECT_TRUE(j["ffmpeg"]["libraries"].is_array());
  EXPECT_TRUE(j["filter"].is_array());
  EXPECT_TRUE(j["codecs"]["subtitle"].is_array());
  EXPECT_TRUE(j["devices"]["muxers"].is_array());
  EXPECT_TRUE(j["protocols"]["output"].is_array());
}

// ---- parsers on captured output ----

TEST(FFmpegSkills, VersionFromDebianBuild) {
  auto v = parse_skills_version(slurp(kData / "version.txt"));
  EXPECT_EQ(v.version, "5.1.9");  // "5.1.9-0+deb12u1": what the UI's ^5.1.0 check needs
  EXPECT_EQ(v.compiler, "gcc 12 (Debian 12.2.0-14+deb12u1)");
  EXPECT_TRUE(v.configuration.starts_with("--prefix=/usr --extra-version=0+deb12u1"));
  ASSERT_EQ(v.libraries.size(), 8u);
  EXPECT_EQ(v.libraries[3], (SkillsLibrary{"libavdevice", "59.  7.100", "59.  7.100"}));
}

TEST(FFmpegSkills, CodecsFromCapture) {
  auto c = parse_skills_codecs(slurp(kData / "codecs.txt"));
  auto* h264 = find_codec(c.video, "h264");
  ASSERT_NE(h264, nullptr);
  EXPECT_EQ(h264->name, "H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10");
  EXPECT_TRUE(contains(h264->encoders, "libx264"));
  EXPECT_TRUE(contains(h264->decoders, "h264"));
  auto* gv = find_codec(c.audio, "4gv");  // neither decoder nor encoder: nulls
  ASSERT_NE(gv, nullptr);
  EXPECT_FALSE(gv->encoders);
  EXPECT_FALSE(gv->decoders);
  auto* aac = find_codec(c.audio, "aac");
  ASSERT_NE(aac, nullptr);
  EXPECT_EQ(*aac->decoders, (std::vector<std::string>{"aac", "aac_fixed"}));
  EXPECT_EQ(c.video.size(), 265u);
  EXPECT_EQ(c.audio.size(), 194u);
  EXPECT_EQ(c.subtitle.size(), 26u);
}

TEST(FFmpegSkills, DevicesUseFirstAliasAndKeepEmptyName) {
  auto d = parse_skills_devices(slurp(kData / "devices.txt"));
  ASSERT_EQ(d.demuxers.size(), 13u);
  ASSERT_EQ(d.muxers.size(), 9u);
  EXPECT_EQ(d.demuxers[0].id, "alsa");
  EXPECT_EQ(d.demuxers[0].name, "ALSA audio output");
  EXPECT_EQ(d.demuxers[6].id, "libcdio");
  EXPECT_EQ(d.demuxers[6].name, "");
  EXPECT_EQ(d.muxers[6].id, "sdl");  // "sdl,sdl2"
  EXPECT_EQ(d.muxers[7].id, "video4linux2");
}

TEST(FFmpegSkills, DeviceLookupFillsBothLists) {
  int calls = 0;
  auto d = parse_skills_devices(" DE alsa            ALSA audio output\n  E caca     x\n", [&](std::string_view id) {
    ++calls;
    std::vector<SkillsHWDevice> v;
    if (id == "alsa") v.push_back({"hw:1,0", "card", "", "audio"});
    return v;
  });
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(d.demuxers.size(), 1u);
  ASSERT_EQ(d.muxers.size(), 2u);
  EXPECT_EQ(d.demuxers[0].devices, d.muxers[0].devices);
  EXPECT_EQ(d.muxers[0].devices.at(0).id, "hw:1,0");
  EXPECT_TRUE(d.muxers[1].devices.empty());
}

TEST(FFmpegSkills, FormatsProtocolsHwaccelsFromCapture) {
  auto f = parse_skills_formats(slurp(kData / "formats.txt"));
  EXPECT_TRUE(has_entry(f.muxers, "hls"));
  EXPECT_TRUE(has_entry(f.demuxers, "lavfi"));
  EXPECT_TRUE(has_entry(f.demuxers, "mov"));  // "mov,mp4,m4a,3gp,3g2,mj2"
  auto p = parse_skills_protocols(slurp(kData / "protocols.txt"));
  for (const char* id : {"http", "https", "rtmp", "srt"}) {
    EXPECT_TRUE(has_entry(p.input, id)) << id;
    EXPECT_TRUE(has_entry(p.output, id)) << id;
  }
  auto h = parse_skills_hwaccels(slurp(kData / "hwaccels.txt"));
  ASSERT_EQ(h.size(), 7u);
  EXPECT_EQ(h[0], (SkillsEntry{"vdpau", "vdpau"}));
}

// ---- upstream's parser test cases (ffmpeg/skills/*_test.go) ----

TEST(FFmpegSkills, UpstreamVersionCases) {
  EXPECT_EQ(parse_skills_version("ffmpeg version 4.3.1 Copyright (c) 2000-2020\n").version, "4.3.1");
  EXPECT_EQ(parse_skills_version("ffmpeg version 4.4 Copyright (c) 2000-2020\n").version, "4.4.0");
  auto v = parse_skills_version(
      "ffmpeg version 4.4.1-datarhei Copyright (c) 2000-2021 the FFmpeg developers\n"
      "built with gcc 10.3.1 (Alpine 10.3.1_git20211027) 20211027\n"
      "configuration: --extra-version=datarhei --prefix=/usr\n"
      "libavcodec     58.134.100 / 58.134.100\n"
      "libavfilter     7.110.100 /  7.110.100\n");
  EXPECT_EQ(v.version, "4.4.1");
  EXPECT_EQ(v.compiler, "gcc 10.3.1 (Alpine 10.3.1_git20211027) 20211027");
  EXPECT_EQ(v.configuration, "--extra-version=datarhei --prefix=/usr");
  ASSERT_EQ(v.libraries.size(), 2u);
  EXPECT_EQ(v.libraries[0], (SkillsLibrary{"libavcodec", "58.134.100", "58.134.100"}));
  EXPECT_EQ(v.libraries[1], (SkillsLibrary{"libavfilter", "7.110.100", "7.110.100"}));
}

TEST(FFmpegSkills, VersionOddities) {
  EXPECT_EQ(parse_skills_version("ffmpeg version n5.1.2 Copyright").version, "5.1.2");  // our extension
  EXPECT_EQ(parse_skills_version("ffmpeg version 6.0-static https://x").version, "6.0.0");
  EXPECT_EQ(parse_skills_version("ffmpeg version N-109000-gabcdef Copyright").version, "");
  EXPECT_EQ(parse_skills_version("ffmpeg version 7. Copyright").version, "");
  EXPECT_EQ(parse_skills_version("\nffmpeg version 5.1.2").version, "");  // must be the first line
  EXPECT_EQ(parse_skills_version("ffmpeg version 5.1.").version, "5.1.0");
  EXPECT_EQ(parse_skills_version("").version, "");
}

TEST(FFmpegSkills, UpstreamFilterCases) {
  auto f = parse_skills_filters(
      " ... afirsrc           |->A       Generate a FIR coefficients audio stream.\n"
      " ... sinc              |->A       Generate a sinc kaiser-windowed low-pass, high-pass.\n"
      " T.. alphamerge        VV->V      Copy the luma value.\n"
      "Filters:\n  T.. = Timeline support\n  A = Audio input/output\n");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], (SkillsEntry{"afirsrc", "Generate a FIR coefficients audio stream."}));
  EXPECT_EQ(f[1].name, "Generate a sinc kaiser-windowed low-pass, high-pass.");
  EXPECT_EQ(f[2], (SkillsEntry{"alphamerge", "Copy the luma value."}));
}

TEST(FFmpegSkills, FilterRegexBacktracking) {
  // Only one word after the id: the second \s+ takes the last space of the first.
  auto f = parse_skills_filters(" ... foo  bar\n ... baz qux\n ... sp  \n ... tr  A->A  \n");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], (SkillsEntry{"foo", "bar"}));
  EXPECT_EQ(f[1], (SkillsEntry{"sp", ""}));
  EXPECT_EQ(f[2], (SkillsEntry{"tr", ""}));
}

TEST(FFmpegSkills, UpstreamCodecCases) {
  auto c = parse_skills_codecs(
      " DEAIL. aac                  AAC (Advanced Audio Coding) (decoders: aac aac_fixed aac_at ) (encoders: aac "
      "aac_at )\n"
      "\tDEVI.S y41p                 Uncompressed YUV 4:1:1 12-bit\n"
      "\tDEV.LS h264                 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (encoders: libx264 libx264rgb "
      "h264_videotoolbox )\n"
      "\tDEV.L. flv1                 FLV / Sorenson Spark / Sorenson H.263 (Flash Video) (decoders: flv ) "
      "(encoders: flv )\n");
  ASSERT_EQ(c.audio.size(), 1u);
  EXPECT_EQ(c.audio[0].name, "AAC (Advanced Audio Coding)");
  EXPECT_EQ(*c.audio[0].decoders, (std::vector<std::string>{"aac", "aac_fixed", "aac_at"}));
  EXPECT_EQ(*c.audio[0].encoders, (std::vector<std::string>{"aac", "aac_at"}));
  ASSERT_EQ(c.video.size(), 3u);
  EXPECT_EQ(c.video[0].name, "Uncompressed YUV 4:1:1 12-bit");
  EXPECT_EQ(*c.video[0].encoders, std::vector<std::string>{"y41p"});
  EXPECT_EQ(*c.video[0].decoders, std::vector<std::string>{"y41p"});
  EXPECT_EQ(c.video[1].name, "H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10");
  EXPECT_EQ(*c.video[1].encoders, (std::vector<std::string>{"libx264", "libx264rgb", "h264_videotoolbox"}));
  EXPECT_EQ(*c.video[1].decoders, std::vector<std::string>{"h264"});
  EXPECT_EQ(c.video[2].name, "FLV / Sorenson Spark / Sorenson H.263 (Flash Video)");
  EXPECT_EQ(*c.video[2].decoders, std::vector<std::string>{"flv"});
  EXPECT_TRUE(c.subtitle.empty());
}

TEST(FFmpegSkills, CodecEdgeCases) {
  auto c = parse_skills_codecs(
      " ..D... bin_data             binary data\n"                      // data codec: skipped
      " D.S... sub                  A sub (decoders:x)(encoders:y)\n"   // no space between groups
      " .EV... enc                  Name (decoders: ignored )\n"        // E only: decoders null
      " DEV... odd                  Paren (not a list)\n"
      " DEV... emp                  (decoders: )\n");
  ASSERT_EQ(c.subtitle.size(), 1u);
  EXPECT_EQ(c.subtitle[0].name, "A sub");
  EXPECT_EQ(*c.subtitle[0].decoders, std::vector<std::string>{"x"});
  EXPECT_FALSE(c.subtitle[0].encoders);  // flag E not set
  ASSERT_EQ(c.video.size(), 3u);
  EXPECT_EQ(c.video[0].name, "Name");
  EXPECT_FALSE(c.video[0].decoders);
  EXPECT_EQ(*c.video[0].encoders, std::vector<std::string>{"enc"});
  EXPECT_EQ(c.video[1].name, "Paren (not a list)");
  EXPECT_EQ(c.video[2].name, "");
  EXPECT_EQ(*c.video[2].decoders, std::vector<std::string>{""});  // Go: Split("", " ") == [""]
}

TEST(FFmpegSkills, UpstreamFormatAndProtocolCases) {
  auto f = parse_skills_formats(
      "File formats:\n D. = Demuxing supported\n .E = Muxing supported\n --\n"
      " D  3dostr          3DO STR\n  E 3g2             3GP2 (3GPP2 file format)\n"
      " DE flv             FLV (Flash Video)\n D  mov,mp4,m4a,3gp,3g2,mj2 QuickTime / MOV\n");
  ASSERT_EQ(f.demuxers.size(), 3u);
  ASSERT_EQ(f.muxers.size(), 2u);
  EXPECT_EQ(f.demuxers[2], (SkillsEntry{"mov", "QuickTime / MOV"}));
  EXPECT_EQ(f.muxers[1], (SkillsEntry{"flv", "FLV (Flash Video)"}));

  auto p = parse_skills_protocols("Supported file protocols:\nInput:\n  async\n  bluray\nOutput:\n  crypto\r\n\n");
  EXPECT_EQ(p.input, (std::vector<SkillsEntry>{{"async", "async"}, {"bluray", "bluray"}}));
  EXPECT_EQ(p.output, (std::vector<SkillsEntry>{{"crypto", "crypto"}}));

  auto h = parse_skills_hwaccels("Hardware acceleration methods:\nvdpau\nbad_name\n\ncuda\n");
  EXPECT_EQ(h, (std::vector<SkillsEntry>{{"vdpau", "vdpau"}, {"cuda", "cuda"}}));
  EXPECT_TRUE(parse_skills_hwaccels("vdpau\ncuda\n").empty());  // no header, no list
}

TEST(FFmpegSkills, UpstreamAlsaCases) {
  EXPECT_TRUE(parse_alsa_devices("", "").empty());
  auto d = parse_alsa_devices(
      " 0 [ALSA           ]: bcm2835_alsa - bcm2835 ALSA\n\tbcm2835 ALSA\n"
      "1 [C170           ]: USB-Audio - Webcam C170\n\tWebcam C170 at usb-3f980000.usb-1.3, high speed",
      "  0: [ 0]   : control\n\t16: [ 0- 0]: digital audio playback\n\t17: [ 0- 1]: digital audio playback\n"
      "\t32: [ 1]   : control\n\t33:        : timer\n\t56: [ 1- 0]: digital audio capture");
  EXPECT_EQ(d, (std::vector<SkillsHWDevice>{{"hw:1,0", "USB-Audio - Webcam C170", "", "audio"}}));
}

TEST(FFmpegSkills, UpstreamV4l2Cases) {
  EXPECT_TRUE(parse_v4l2_devices("").empty());
  auto d = parse_v4l2_devices(
      "mmal service 16.1 (platform:bcm2835-v4l2):\n\t/dev/video0\n\n"
      "Webcam C170: Webcam C170 (usb-3f980000.usb-1.3):\n\t/dev/video1\n\t/dev/media0\n\n");
  EXPECT_EQ(d, (std::vector<SkillsHWDevice>{
                   {"/dev/video0", "mmal service 16.1", "platform:bcm2835-v4l2", "video"},
                   {"/dev/video1", "Webcam C170: Webcam C170", "usb-3f980000.usb-1.3", "video"}}));
  EXPECT_TRUE(parse_v4l2_devices("\t/dev/video0\n").empty());  // no name yet
}

TEST(FFmpegSkills, UpstreamFramebufferCases) {
  auto fb = [](int bpp, const char* rgba) {
    return parse_fbset("mode \"1280x720\"\n    geometry 1280 720 1280 720 " + std::to_string(bpp) +
                       "\n    timings 0 0 0 0 0 0 0\n    rgba " + rgba + "\nendmode");
  };
  EXPECT_EQ(parse_fbset(""), "");
  EXPECT_EQ(fb(32, "8/16,8/8,8/0,8/24"), "1280x720 bgra");
  EXPECT_EQ(fb(16, "5/11,6/5,5/0,0/16"), "1280x720 rgb565le");
  EXPECT_EQ(fb(8, "8/0,8/0,8/0,0/0"), "");
  EXPECT_EQ(fb(24, "8/16,8/8,8/0,0/24"), "1280x720 bgr24");
  EXPECT_EQ(parse_fbset("geometry 800 600 800 1200 32\nrgba 8/0,8/8,8/16,8/24\n"), "800x600 (800x1200) rgba");
}

// ---- hostile input ----

TEST(FFmpegSkills, HostileTextNeverCrashesAndStaysLinear) {
  std::mt19937 rng(1234);
  const std::string alphabet = " \t\r\n().:/-,|>[]DEVASTC_x0123456789abcdefghlibdecoders:encoders:";
  std::vector<std::string> inputs;
  for (int k = 0; k < 200; ++k) {
    std::string s(rng() % 2000, ' ');
    for (auto& ch : s) ch = alphabet[rng() % alphabet.size()];
    inputs.push_back(std::move(s));
  }
  std::string rnd(4096, '\0');
  for (auto& ch : rnd) ch = static_cast<char>(rng());
  inputs.push_back(rnd);
  inputs.push_back(" DEV... x " + std::string(200000, '('));
  inputs.push_back(" DEV... x " + [] {
    std::string s;
    for (int i = 0; i < 20000; ++i) s += "(decoders:a";
    return s + ")";
  }());
  inputs.push_back(" DEV... x " + std::string(100000, ' ') + "(encoders: a )");
  inputs.push_back(" ... f " + std::string(200000, 'y'));
  inputs.push_back("ffmpeg version " + std::string(100000, '9'));
  inputs.push_back(" libavutil " + std::string(100000, '5'));
  inputs.push_back("geometry 1 " + std::string(100000, '2') + "\nrgba " + std::string(50000, '8'));
  inputs.push_back(std::string(100000, '\n'));
  inputs.push_back("Input:\n" + std::string(50000, 'a'));

  auto start = std::chrono::steady_clock::now();
  for (const auto& in : inputs) {
    Skills s;
    s.ffmpeg = parse_skills_version(in);
    s.filters = parse_skills_filters(in);
    s.hwaccels = parse_skills_hwaccels("Hardware acceleration methods:\n" + in);
    s.codecs = parse_skills_codecs(in);
    s.formats = parse_skills_formats(in);
    s.devices = parse_skills_devices(in, [](std::string_view) { return std::vector<SkillsHWDevice>{}; });
    s.protocols = parse_skills_protocols(in);
    (void)parse_alsa_devices(in, in);
    (void)parse_v4l2_devices(in);
    (void)parse_fbset(in);
    auto j = skills_to_json(s);
    EXPECT_NO_THROW((void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  // Quadratic matching would take minutes on the 200 KB lines.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(FFmpegSkills, CodecsLongNameKeepsLazySplit) {
  std::string name(50000, 'n');
  auto c = parse_skills_codecs(" DEV... big  " + name + " (decoders: a b ) (encoders: c )");
  ASSERT_EQ(c.video.size(), 1u);
  EXPECT_EQ(c.video[0].name, name);
  EXPECT_EQ(*c.video[0].decoders, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*c.video[0].encoders, std::vector<std::string>{"c"});
}

// ---- real binary ----

TEST(FFmpegSkills, DetectsRealFFmpeg) {
  if (!fs::exists(kFFmpeg)) GTEST_SKIP() << "no " << kFFmpeg;
  std::string error;
  auto s = detect_skills(kFFmpeg, error);
  ASSERT_TRUE(s) << error;
  EXPECT_FALSE(s->ffmpeg.version.empty());
  EXPECT_EQ(std::count(s->ffmpeg.version.begin(), s->ffmpeg.version.end(), '.'), 2);
  auto* h264 = find_codec(s->codecs.video, "h264");
  ASSERT_NE(h264, nullptr);
  EXPECT_TRUE(contains(h264->encoders, "libx264"));
  EXPECT_TRUE(contains(h264->decoders, "h264"));
  EXPECT_TRUE(has_entry(s->formats.muxers, "hls"));
  EXPECT_TRUE(has_entry(s->formats.demuxers, "lavfi"));
  for (const char* id : {"http", "https", "rtmp", "srt"}) {
    EXPECT_TRUE(has_entry(s->protocols.input, id)) << id;
    EXPECT_TRUE(has_entry(s->protocols.output, id)) << id;
  }
  EXPECT_FALSE(s->filters.empty());
  EXPECT_FALSE(s->devices.demuxers.empty());
  std::string why;
  EXPECT_TRUE(same_shape(skills_to_json(*s), upstream(), "$", &why)) << why;
}

TEST(FFmpegSkills, DetectReadsAlsaFromGivenDir) {
  if (!fs::exists(kFFmpeg)) GTEST_SKIP() << "no " << kFFmpeg;
  auto dir = fs::temp_directory_path() / ("dragon-skills-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "cards") << " 1 [C170           ]: USB-Audio - Webcam C170\n";
  std::ofstream(dir / "devices") << " 56: [ 1- 0]: digital audio capture\n";
  SkillsOptions o;
  o.asound_dir = dir.string();
  o.dev_dir = (dir / "nodev").string();
  std::string error;
  auto s = detect_skills(kFFmpeg, error, o);
  fs::remove_all(dir);
  ASSERT_TRUE(s) << error;
  for (const auto* list : {&s->devices.demuxers, &s->devices.muxers}) {
    auto it = std::find_if(list->begin(), list->end(), [](const SkillsDevice& d) { return d.id == "alsa"; });
    ASSERT_NE(it, list->end());
    EXPECT_EQ(it->devices, (std::vector<SkillsHWDevice>{{"hw:1,0", "USB-Audio - Webcam C170", "", "audio"}}));
  }
}

TEST(FFmpegSkills, DetectFailsWithoutUsableBinary) {
  std::string error;
  EXPECT_FALSE(detect_skills("/nonexistent/ffmpeg", error));
  EXPECT_NE(error.find("can't parse ffmpeg version info"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(detect_skills("", error));
  EXPECT_FALSE(error.empty());
  if (fs::exists("/bin/true")) {
    error.clear();
    EXPECT_FALSE(detect_skills("/bin/true", error));  // runs fine, prints no version
    EXPECT_EQ(error, "can't parse ffmpeg version info");
  }
  if (fs::exists("/bin/false")) {
    error.clear();
    EXPECT_FALSE(detect_skills("/bin/false", error));
    EXPECT_NE(error.find("exited with 1"), std::string::npos) << error;
  }
}
