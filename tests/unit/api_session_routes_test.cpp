// /api/v3/session, /api/v3/session/active and /api/v3/widget/process/{id} with upstream's shapes,
// fed by HLS viewers of the /memfs mount (in-process, through http::Service).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/context.hpp"
#include "api/fs_routes.hpp"
#include "fs/registry.hpp"
#include "process/reactor.hpp"
#include "restream/registry.hpp"
#include "session/hls.hpp"
#include "session/registry.hpp"
#include "util/random.hpp"

using namespace dragon;

namespace {

nlohmann::json sample(const std::string& name) {
  std::ifstream in(std::string(DRAGON_SOURCE_DIR) + "/../shared/reference/upstream-samples/" + name + ".json");
  if (!in) return nullptr;
  return nlohmann::json::parse(in)["response"];
}

// Same keys, recursively (objects keyed by data, such as the collectors map, compared by their first entry).
void expect_same_keys(const nlohmann::json& want, const nlohmann::json& got, const std::string& where) {
  if (want.is_number() && got.is_number()) return;  // integer or float: one JSON type
  ASSERT_EQ(want.type(), got.type()) << where;
  if (!want.is_object()) return;
  for (const auto& [k, v] : want.items()) {
    ASSERT_TRUE(got.contains(k)) << where << "." << k << " missing";
    expect_same_keys(v, got[k], where + "." + k);
  }
  for (const auto& [k, v] : got.items()) EXPECT_TRUE(want.contains(k)) << where << "." << k << " is extra";
}

struct SessionRoutesFixture : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<config::Store> store;
  std::unique_ptr<process::Reactor> reactor;
  std::unique_ptr<restream::Registry> processes;
  session::Registry sessions;
  api::ApiContext ctx;
  fs::FilesystemRegistry filesystems;
  http::Router router;
  std::unique_ptr<http::Service> service;
  std::string token;
  const std::string playlist = "#EXTM3U\n#EXTINF:2.0,\nlive_1.ts\n";

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("dragon-apisess-" + util::random_alnum(8));
    std::filesystem::create_directories(dir);
    config::Environment env = config::process_environment();
    env["CORE_DB_DIR"] = (dir / "db").string();
    env["CORE_STORAGE_DISK_DIR"] = (dir / "data").string();
    env["CORE_API_AUTH_PASSWORD"] = "test-password";
    store = std::make_unique<config::Store>((dir / "config.json").string(), env);
    const auto errors = store->load();
    ASSERT_TRUE(errors.empty()) << config::errors_to_string(errors);
    reactor = std::make_unique<process::Reactor>();
    restream::RegistryOptions ro;
    ro.db_path = (dir / "db" / "db.json").string();
    ro.ffmpeg_binary = "/usr/bin/ffmpeg";
    processes = std::make_unique<restream::Registry>(ro, *reactor);
    processes->load();
    session::CollectorConfig cfg;
    cfg.max_sessions = 3;
    cfg.ip_ignorelist = {"127.0.0.1/32", "::1/128"};
    sessions.add("hls", cfg);
    sessions.add("webrtc", cfg);
    ctx.store = store.get();
    ctx.config = store->active();
    ctx.registry = processes.get();
    ctx.sessions = &sessions;
    api::prepare_context(ctx);
    api::register_session_routes(router, ctx);
    api::configure_filesystems(filesystems, *ctx.config);
    api::register_fs_routes(router, ctx, &filesystems);
    service = std::make_unique<http::Service>(router, http::ServiceOptions{}, api::make_authorizer(ctx));
    token = ctx.jwt->issue("admin", auth::TokenUse::Access);
    auto mem = filesystems.get("mem");
    ASSERT_TRUE(mem->write("/live.m3u8", playlist));
    ASSERT_TRUE(mem->write("/live_1.ts", std::string(188 * 100, 'G')));
  }
  void TearDown() override {
    processes.reset();
    reactor.reset();
    std::filesystem::remove_all(dir);
  }

  http::Response get(const std::string& target, const std::string& ip = "192.0.2.10", bool auth = true) {
    http::Request req;
    req.method = http::Method::Get;
    req.target = target;
    req.path = target.substr(0, target.find('?'));
    if (const auto q = target.find('?'); q != std::string::npos) req.query = target.substr(q + 1);
    req.remote_ip = ip;
    if (auth) req.headers.set("Authorization", "Bearer " + token);
    auto res = service->handle(req);
    if (res.offload) res = res.offload();
    return res;
  }
  void watch(const std::string& ip) {
    ASSERT_EQ(get("/memfs/live.m3u8", ip, false).status, 200);
    ASSERT_EQ(get("/memfs/live_1.ts", ip, false).status, 200);
  }
};

}  // namespace

TEST_F(SessionRoutesFixture, ActiveListsHlsViewersInUpstreamsShape) {
  auto res = get("/api/v3/session/active?collectors=hls,rtmp,srt,webrtc");
  ASSERT_EQ(res.status, 200);
  auto body = nlohmann::json::parse(res.body);
  if (const auto want = sample("get_session_active"); !want.is_null()) expect_same_keys(want, body, "active");
  EXPECT_EQ(body["hls"].size(), 0u);

  watch("192.0.2.1");
  watch("192.0.2.2");
  watch("127.0.0.1");  // ignored
  body = nlohmann::json::parse(get("/api/v3/session/active?collectors=hls").body);
  ASSERT_EQ(body["hls"].size(), 2u);
  const auto& s = body["hls"][0];
  for (const char* k : {"id", "reference", "created_at", "local", "remote", "extra", "bytes_rx", "bytes_tx",
                        "bandwidth_rx_kbit", "bandwidth_tx_kbit"}) {
    EXPECT_TRUE(s.contains(k)) << k;
  }
  EXPECT_EQ(s["reference"], "live");
  EXPECT_EQ(s["local"], "/memfs/live.m3u8");
  EXPECT_EQ(s["bytes_tx"], 188 * 100 + playlist.size());
  EXPECT_GT(s["bandwidth_tx_kbit"].get<double>(), 0);
  // No collectors query: one key "" (upstream).
  body = nlohmann::json::parse(get("/api/v3/session/active").body);
  EXPECT_EQ(body, nlohmann::json::parse(R"({"":[]})"));
}

TEST_F(SessionRoutesFixture, SummaryInUpstreamsShape) {
  watch("192.0.2.1");
  auto res = get("/api/v3/session?collectors=hls,rtmp,srt");
  ASSERT_EQ(res.status, 200);
  const auto body = nlohmann::json::parse(res.body);
  if (const auto want = sample("get_session_summary"); !want.is_null()) expect_same_keys(want, body, "summary");
  EXPECT_EQ(body["hls"]["active"]["sessions"], 1);
  EXPECT_EQ(body["hls"]["active"]["max_sessions"], 3);
  EXPECT_EQ(body["hls"]["active"]["list"].size(), 1u);
  EXPECT_EQ(body["rtmp"]["active"]["list"], nlohmann::json::array());
  // Closed sessions make the history.
  sessions.get("hls")->close(body["hls"]["active"]["list"][0]["id"]);
  const auto after = nlohmann::json::parse(get("/api/v3/session?collectors=hls").body);
  EXPECT_EQ(after["hls"]["summary"]["sessions"], 1);
  EXPECT_EQ(after["hls"]["summary"]["reference"]["live"]["sessions"], 1);
  EXPECT_EQ(after["hls"]["summary"]["remote"]["192.0.2.1"]["local"]["/memfs/live.m3u8"]["sessions"], 1);
  EXPECT_EQ(after["hls"]["summary"]["local"]["/memfs/live.m3u8"]["traffic_tx_mb"], 0);
}

TEST_F(SessionRoutesFixture, TheViewerBeyondMaxSessionsGets509) {
  watch("192.0.2.1");
  watch("192.0.2.2");
  watch("192.0.2.3");
  auto res = get("/memfs/live.m3u8", "192.0.2.4", false);
  EXPECT_EQ(res.status, 509);
  const auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(body["code"], 509);
  EXPECT_EQ(body["message"], "Bandwith limit exceeded");  // sic, upstream
  EXPECT_EQ(body["details"], nlohmann::json::array({"Number of sessions exceeded"}));
  EXPECT_EQ(get("/memfs/live_1.ts", "192.0.2.4", false).status, 509);
  // Loopback (ignored) and the admitted viewers are served.
  EXPECT_EQ(get("/memfs/live.m3u8", "127.0.0.1", false).status, 200);
  EXPECT_EQ(get("/memfs/live_1.ts", "192.0.2.3", false).status, 200);
  // Missing files stay 404, not 509.
  EXPECT_EQ(get("/memfs/nope.m3u8", "192.0.2.4", false).status, 404);
}

TEST_F(SessionRoutesFixture, WidgetIsPublicAndCountsTheProcessViewers) {
  EXPECT_EQ(get("/api/v3/widget/process/unknown", "192.0.2.1", false).status, 404);
  ffmpeg::ProcessConfig pc;
  pc.id = "live";
  pc.reference = "live";
  pc.input.push_back({"in", "testsrc2=size=64x64", {"-f", "lavfi"}, {}});
  pc.output.push_back({"out", "-", {"-f", "null"}, {}});
  if (auto err = processes->add(pc)) FAIL() << err->message;
  watch("192.0.2.1");
  watch("192.0.2.2");
  sessions.get("hls")->close(session::HlsEgress::session_id("192.0.2.2", "/memfs/live.m3u8"));
  sessions.get("webrtc")->open("viewer1", "live", "whep:live", "192.0.2.7");
  auto res = get("/api/v3/widget/process/live", "192.0.2.1", false);
  ASSERT_EQ(res.status, 200) << res.body;
  const auto body = nlohmann::json::parse(res.body);
  if (const auto want = sample("get_widget_process"); !want.is_null()) expect_same_keys(want, body, "widget");
  EXPECT_EQ(body["current_sessions"], 2);  // one HLS viewer, one WebRTC viewer
  EXPECT_EQ(body["total_sessions"], 1);    // the closed HLS session
  EXPECT_EQ(body["uptime"], 0);            // not running
}
