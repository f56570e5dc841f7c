// Walks the real route table: every route that is not public answers 401 without a token and works
// with one, and every route is documented in the OpenAPI document served at /api/swagger.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "api/context.hpp"
#include "api/fs_routes.hpp"
#include "api/skills_state.hpp"
#include "fs/registry.hpp"
#include "process/reactor.hpp"
#include "restream/registry.hpp"
#include "util/embedded_assets.hpp"
#include "util/random.hpp"

using namespace dragon;

namespace {

struct ApiFixture : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<config::Store> store;
  std::unique_ptr<process::Reactor> reactor;
  std::unique_ptr<restream::Registry> registry;
  fs::FilesystemRegistry filesystems;
  api::ApiContext ctx;
  http::Router router;
  std::unique_ptr<http::Service> service;
  bool reload_requested = false;

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("dragon-api-" + util::random_alnum(8));
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
    registry = std::make_unique<restream::Registry>(ro, *reactor);
    registry->load();
    ctx.registry = registry.get();
    ctx.skills = std::make_shared<api::SkillsState>("/usr/bin/ffmpeg");
    std::string skills_error;
    ASSERT_TRUE(ctx.skills->detect(skills_error)) << skills_error;
    ctx.store = store.get();
    ctx.config = store->active();
    ctx.request_reload = [this] { reload_requested = true; };
    // As with rtmp.enable and srt.enable on: their routes exist only then.
    ctx.rtmp_channels = [] { return nlohmann::json::array({{{"name", "/live/x"}}}); };
    ctx.srt_channels = [] {
      return nlohmann::json{{"publisher", nlohmann::json::object()}, {"subscriber", nlohmann::json::object()},
                            {"connections", nlohmann::json::object()}, {"log", nlohmann::json::object()}};
    };
    api::prepare_context(ctx);
    api::register_routes(router, ctx);
    api::configure_filesystems(filesystems, *ctx.config);
    api::register_fs_routes(router, ctx, &filesystems);
    service = std::make_unique<http::Service>(router, http::ServiceOptions{}, api::make_authorizer(ctx));
  }
  void TearDown() override {
    registry.reset();
    reactor.reset();
    std::filesystem::remove_all(dir);
  }

  static std::string concrete_path(const std::string& pattern) {
    std::string p = std::regex_replace(pattern, std::regex(R"(\{[a-z_]+\*\})"), "file.txt");
    return std::regex_replace(p, std::regex(R"(\{[a-z_]+\})"), "test");
  }

  http::Response call(const http::Route& route, const std::string& token) {
    http::Request req;
    req.method = route.method;
    req.path = concrete_path(route.pattern);
    req.target = req.path;
    req.remote_ip = "192.0.2.10";
    if (!token.empty()) req.headers.set("Authorization", "Bearer " + token);
    auto res = service->handle(req);
    if (res.offload) res = res.offload();
    return res;
  }
};

}  // namespace

TEST_F(ApiFixture, EveryGuardedRouteNeeds401WithoutTokenAndWorksWithOne) {
  const auto tokens = ctx.jwt->issue_pair("admin");
  std::size_t guarded = 0;
  for (const auto& route : router.routes()) {
    SCOPED_TRACE(std::string(http::method_name(route->method)) + " " + route->pattern);
    const auto access = route->options.access;
    if (access == http::Access::Public) continue;
    if (access == http::Access::JwtOptional) {
      // GET /api: never 401, but nothing beyond app/auths/version without a token.
      auto anon = call(*route, "");
      EXPECT_EQ(anon.status, 200);
      EXPECT_FALSE(nlohmann::json::parse(anon.body).contains("id"));
      auto authed = call(*route, tokens.access_token);
      EXPECT_TRUE(nlohmann::json::parse(authed.body).contains("id"));
      continue;
    }
    ++guarded;
    EXPECT_EQ(call(*route, "").status, 401);
    EXPECT_EQ(call(*route, "garbage").status, access == http::Access::RefreshJwt ? 403 : 401);
    const auto& good = access == http::Access::RefreshJwt ? tokens.refresh_token : tokens.access_token;
    const auto res = call(*route, good);
    EXPECT_NE(res.status, 401);
    EXPECT_NE(res.status, 403);
    EXPECT_LT(res.status, 500) << res.body;
  }
  EXPECT_GT(guarded, 4u);
}

TEST_F(ApiFixture, EveryRouteIsDocumentedInOpenApi) {
  const auto doc_text = assets::find("swagger/openapi.json");
  ASSERT_TRUE(doc_text);
  const auto doc = nlohmann::json::parse(*doc_text);
  for (const auto& route : router.routes()) {
    const std::string path = std::regex_replace(route->pattern, std::regex(R"(\{([a-z_]+)\*\})"), "{$1}");
    std::string method(http::method_name(route->method));
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(doc["paths"].contains(path) && doc["paths"][path].contains(method))
        << method << " " << path << " is not in assets/swagger/openapi.json";
  }
  // And nothing documented that does not exist.
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      bool found = false;
      for (const auto& route : router.routes()) {
        const std::string p = std::regex_replace(route->pattern, std::regex(R"(\{([a-z_]+)\*\})"), "{$1}");
        std::string m(http::method_name(route->method));
        for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (p == path && m == method) found = true;
      }
      EXPECT_TRUE(found) << method << " " << path << " is documented but not registered";
    }
  }
}

TEST_F(ApiFixture, ReadOnlyModeRegistersNoWritingRoutes) {
  auto cfg = std::make_shared<config::Config>(*store->active());
  cfg->set("api.read_only", true);
  api::ApiContext ro;
  ro.store = store.get();
  ro.config = cfg;
  ro.registry = registry.get();
  ro.skills = ctx.skills;
  api::prepare_context(ro);
  http::Router r;
  api::register_routes(r, ro);
  api::register_fs_routes(r, ro, &filesystems);
  for (const auto& route : r.routes()) {
    // Upstream keeps filesystem mount writes in read-only mode (only the API is read-only).
    if (route->pattern.starts_with("/memfs/")) continue;
    // Watching over WHEP changes no stored state, like fetching HLS: it stays available.
    if (route->pattern.starts_with("/api/v3/whep/")) continue;
    // POST /api/v3/metrics is a query (the Restreamer UI's dashboard), not a write.
    if (route->pattern == "/api/v3/metrics") continue;
    const bool writes = route->method == http::Method::Put || route->method == http::Method::Delete ||
                        route->method == http::Method::Patch ||
                        (route->method == http::Method::Post && route->pattern != "/api/login");
    EXPECT_FALSE(writes) << route->pattern;
    EXPECT_NE(route->pattern, "/api/v3/config/reload");
  }
}

TEST_F(ApiFixture, ConfigPutValidationGives409KeyedByVar) {
  http::Request req;
  req.method = http::Method::Put;
  req.path = "/api/v3/config";
  req.remote_ip = "192.0.2.10";
  req.headers.set("Authorization", "Bearer " + ctx.jwt->issue("admin", auth::TokenUse::Access));
  req.headers.set("Content-Type", "application/json");
  req.body = R"({"version":3,"address":"not an address"})";
  auto res = service->handle(req);
  EXPECT_EQ(res.status, 409);
  EXPECT_TRUE(nlohmann::json::parse(res.body).contains("address")) << res.body;
  req.body = R"({"version":3,"name":"x"})";
  res = service->handle(req);
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(store->stored()->get_string("name"), "x");
}
