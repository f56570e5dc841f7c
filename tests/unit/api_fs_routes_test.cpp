// The /memfs mount and /api/v3/fs through http::Service in-process.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <thread>

#include "api/context.hpp"
#include "api/fs_routes.hpp"
#include "fs/registry.hpp"
#include "util/base64.hpp"
#include "util/embedded_assets.hpp"
#include "util/random.hpp"

using namespace dragon;

namespace {

struct FsRoutesFixture : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<config::Store> store;
  api::ApiContext ctx;
  fs::FilesystemRegistry registry;
  http::Router router;
  std::unique_ptr<http::Service> service;
  std::string token;

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("dragon-apifs-" + util::random_alnum(8));
    std::filesystem::create_directories(dir);
    config::Environment env = config::process_environment();
    env["CORE_DB_DIR"] = (dir / "db").string();
    env["CORE_STORAGE_DISK_DIR"] = (dir / "data").string();
    env["CORE_API_AUTH_PASSWORD"] = "test-password";
    env["CORE_STORAGE_MEMORY_AUTH_USERNAME"] = "ffmpeg";
    env["CORE_STORAGE_MEMORY_AUTH_PASSWORD"] = "memsecret";
    env["CORE_STORAGE_MEMORY_MAX_SIZE_MBYTES"] = "1";
    store = std::make_unique<config::Store>((dir / "config.json").string(), env);
    const auto errors = store->load();
    ASSERT_TRUE(errors.empty()) << config::errors_to_string(errors);
    ctx.store = store.get();
    ctx.config = store->active();
    api::prepare_context(ctx);
    api::configure_filesystems(registry, *ctx.config);
    api::register_fs_routes(router, ctx, &registry);
    service = std::make_unique<http::Service>(router, http::ServiceOptions{}, api::make_authorizer(ctx));
    token = ctx.jwt->issue("admin", auth::TokenUse::Access);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  http::Request request(http::Method m, std::string path, std::string body = {}) {
    http::Request req;
    req.method = m;
    req.path = std::move(path);
    const auto q = req.path.find('?');
    if (q != std::string::npos) {
      req.query = req.path.substr(q + 1);
      req.path.resize(q);
    }
    req.target = req.path;
    req.remote_ip = "192.0.2.10";
    req.body = std::move(body);
    return req;
  }
  static void basic(http::Request& req, const std::string& user = "ffmpeg", const std::string& pass = "memsecret") {
    req.headers.set("Authorization", "Basic " + util::base64_encode(user + ":" + pass));
  }
  void bearer(http::Request& req) { req.headers.set("Authorization", "Bearer " + token); }
  http::Response call(http::Request& req) {
    auto res = service->handle(req);
    if (res.offload) res = res.offload();  // disk work runs on the server's blocking pool
    return res;
  }
  // What the server would send as the body, wherever the response carries it.
  static std::string body_of(const http::Response& res) {
    if (res.shared) return res.shared->data->substr(res.shared->offset, res.shared->length);
    if (res.file) {
      std::ifstream in(res.file->path, std::ios::binary);
      std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return all.substr(res.file->offset, res.file->length);
    }
    return res.body;
  }
  void write_disk(const std::string& rel, const std::string& data) {
    const auto p = dir / "data" / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
  }
};

}  // namespace

TEST_F(FsRoutesFixture, MemfsUploadIsChallengedBeforeTheBody) {
  auto req = request(http::Method::Put, "/memfs/live.m3u8");
  req.headers.set("Expect", "100-continue");
  req.headers.set("Transfer-Encoding", "chunked");
  const auto d = service->before_body(req);
  ASSERT_TRUE(d.reject);
  EXPECT_EQ(d.reject->status, 401);
  EXPECT_EQ(d.reject->headers.get("WWW-Authenticate").value_or(""), "Basic realm=\"Restricted\"");
  basic(req, "ffmpeg", "wrong");
  EXPECT_TRUE(service->before_body(req).reject);
  basic(req, "wrong", "memsecret");
  EXPECT_TRUE(service->before_body(req).reject);
  basic(req);
  const auto ok = service->before_body(req);
  EXPECT_FALSE(ok.reject);
  EXPECT_GE(ok.max_body, 64u << 20);
  // The handler checks again (Service::handle does not run prechecks).
  auto anon = request(http::Method::Put, "/memfs/live.m3u8", "#EXTM3U");
  EXPECT_EQ(call(anon).status, 401);
  EXPECT_FALSE(registry.get("mem")->stat("/live.m3u8"));
}

TEST_F(FsRoutesFixture, MemfsPutGetDelete) {
  auto put = request(http::Method::Put, "/memfs/ch/live.m3u8", "#EXTM3U\n");
  basic(put);
  auto res = call(put);
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.headers.get("Content-Location").value_or(""), "/memfs/ch/live.m3u8");
  put.body = "#EXTM3U\n#EXT-X-VERSION:3\n";
  EXPECT_EQ(call(put).status, 204);
  auto post = request(http::Method::Post, "/memfs/ch/seg_1.ts", "TS");
  basic(post);
  EXPECT_EQ(call(post).status, 201);

  auto get = request(http::Method::Get, "/memfs/ch/live.m3u8");  // public
  res = call(get);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(body_of(res), "#EXTM3U\n#EXT-X-VERSION:3\n");
  EXPECT_EQ(res.headers.get("Content-Type").value_or(""), "application/vnd.apple.mpegurl");
  EXPECT_EQ(res.headers.get("Cache-Control").value_or(""), "no-cache");
  EXPECT_TRUE(std::regex_match(std::string(res.headers.get("Last-Modified").value_or("")),
                               std::regex(R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)")));
  get = request(http::Method::Head, "/memfs/ch/seg_1.ts");
  res = call(get);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.headers.get("Content-Type").value_or(""), "video/MP2T");
  EXPECT_EQ(res.headers.get("Cache-Control").value_or(""), "max-age=10");

  auto del = request(http::Method::Delete, "/memfs/ch/seg_1.ts");
  EXPECT_EQ(call(del).status, 401);
  basic(del);
  res = call(del);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "Deleted: /ch/seg_1.ts");
  res = call(del);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(nlohmann::json::parse(res.body)["message"], "File not found");
  get = request(http::Method::Get, "/memfs/ch/seg_1.ts");
  EXPECT_EQ(call(get).status, 404);
}

TEST_F(FsRoutesFixture, MemfsWriteFailureIs400BadRequest) {
  auto put = request(http::Method::Put, "/memfs/big.ts", std::string((1u << 20) + 1, 'x'));
  basic(put);
  auto res = call(put);
  EXPECT_EQ(res.status, 400);
  const auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(body["message"], "Bad request");
  EXPECT_EQ(body["details"][0], "File is too big");
  auto root = request(http::Method::Put, "/memfs/", "x");
  basic(root);
  EXPECT_EQ(call(root).status, 400);
}

TEST_F(FsRoutesFixture, MemfsAcceptsTheApiAccessToken) {
  auto put = request(http::Method::Put, "/memfs/a.ts", "x");
  bearer(put);
  EXPECT_EQ(call(put).status, 201);
  put.headers.set("Authorization", "Bearer garbage");
  EXPECT_EQ(call(put).status, 401);
}

TEST_F(FsRoutesFixture, ApiListsFilesystemsAndFiles) {
  auto req = request(http::Method::Get, "/api/v3/fs");
  EXPECT_EQ(call(req).status, 401);
  bearer(req);
  auto res = call(req);
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(nlohmann::json::parse(res.body),
            nlohmann::json::parse(R"([{"name":"mem","type":"mem","mount":"/memfs"},
                                      {"name":"disk","type":"disk","mount":"/"}])"));

  auto mem = registry.get("mem");
  ASSERT_TRUE(mem->write("/b.ts", "22"));
  ASSERT_TRUE(mem->write("/a.ts", "333"));
  ASSERT_TRUE(mem->write("/c.m3u8", "1"));
  req = request(http::Method::Get, "/api/v3/fs/mem?sort=name&order=desc");
  bearer(req);
  res = call(req);
  ASSERT_EQ(res.status, 200);
  auto list = nlohmann::json::parse(res.body);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["name"], "/c.m3u8");
  EXPECT_EQ(list[2]["name"], "/a.ts");
  EXPECT_EQ(list[2]["size_bytes"], 3);
  EXPECT_TRUE(list[2]["last_modified"].is_number_integer());
  req = request(http::Method::Get, "/api/v3/fs/mem?glob=/*.ts&sort=size");
  bearer(req);
  list = nlohmann::json::parse(call(req).body);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "/b.ts");

  req = request(http::Method::Get, "/api/v3/fs/nope");
  bearer(req);
  EXPECT_EQ(call(req).status, 404);
  req = request(http::Method::Get, "/api/v3/fs/nope/x.ts");
  bearer(req);
  EXPECT_EQ(call(req).status, 404);
}

TEST_F(FsRoutesFixture, ApiDiskPutGetDeleteStreamsFromDisk) {
  auto put = request(http::Method::Put, "/api/v3/fs/disk/rec/a.mp4", "MP4DATA");
  EXPECT_EQ(call(put).status, 401);
  bearer(put);
  auto res = call(put);
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.headers.get("Content-Location").value_or(""), "/api/v3/fs/disk/rec/a.mp4");
  put.body = "MP4DATA2";
  EXPECT_EQ(call(put).status, 204);

  auto get = request(http::Method::Get, "/api/v3/fs/disk/rec/a.mp4");
  bearer(get);
  res = call(get);
  ASSERT_EQ(res.status, 200);
  ASSERT_TRUE(res.file);
  EXPECT_EQ(res.file->length, 8u);
  EXPECT_EQ(std::filesystem::path(res.file->path), dir / "data" / "rec" / "a.mp4");
  EXPECT_EQ(res.headers.get("Content-Type").value_or(""), "video/mp4");

  auto list = request(http::Method::Get, "/api/v3/fs/disk");
  bearer(list);
  EXPECT_EQ(nlohmann::json::parse(call(list).body)[0]["name"], "/rec/a.mp4");

  auto del = request(http::Method::Delete, "/api/v3/fs/disk/rec/a.mp4");
  bearer(del);
  res = call(del);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "Deleted: /rec/a.mp4");
  EXPECT_EQ(call(del).status, 404);

  // Mem through the API as well.
  put = request(http::Method::Put, "/api/v3/fs/mem/x.ts", "x");
  bearer(put);
  EXPECT_EQ(call(put).status, 201);
  EXPECT_TRUE(registry.get("mem")->stat("/x.ts"));
}

TEST_F(FsRoutesFixture, TraversalThroughTheRoutesStaysInside) {
  std::filesystem::create_directories(dir / "outside");
  {
    std::ofstream(dir / "outside" / "secret.txt") << "secret";
  }
  for (const char* p : {"/api/v3/fs/disk/../outside/secret.txt", "/api/v3/fs/disk/../../../../etc/passwd",
                        "/api/v3/fs/disk//etc/passwd"}) {
    SCOPED_TRACE(p);
    auto get = request(http::Method::Get, p);
    bearer(get);
    EXPECT_EQ(call(get).status, 404);
  }
  auto put = request(http::Method::Put, "/api/v3/fs/disk/../outside/secret.txt", "pwned");
  bearer(put);
  EXPECT_EQ(call(put).status, 201);  // lands at <data>/outside/secret.txt
  EXPECT_TRUE(std::filesystem::exists(dir / "data" / "outside" / "secret.txt"));
  std::ifstream in(dir / "outside" / "secret.txt");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "secret");
}

TEST_F(FsRoutesFixture, ReadOnlyKeepsMountWritesButDropsApiWrites) {
  auto cfg = std::make_shared<config::Config>(*store->active());
  cfg->set("api.read_only", true);
  api::ApiContext ro;
  ro.store = store.get();
  ro.config = cfg;
  api::prepare_context(ro);
  http::Router r;
  api::register_fs_routes(r, ro, &registry);
  bool mount_put = false;
  for (const auto& route : r.routes()) {
    if (route->pattern.starts_with("/api/")) {
      EXPECT_EQ(route->method, http::Method::Get) << route->pattern;
    }
    if (route->pattern == "/memfs/{path*}" && route->method == http::Method::Put) mount_put = true;
  }
  EXPECT_TRUE(mount_put);
}

TEST_F(FsRoutesFixture, RoutesAreDocumentedInOpenApi) {
  const auto doc_text = assets::find("swagger/openapi.json");
  ASSERT_TRUE(doc_text);
  const auto doc = nlohmann::json::parse(*doc_text);
  for (const auto& route : router.routes()) {
    const std::string path = std::regex_replace(route->pattern, std::regex(R"(\{([a-z_]+)\*\})"), "{$1}");
    std::string method(http::method_name(route->method));
    for (auto& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_TRUE(doc["paths"].contains(path) && doc["paths"][path].contains(method))
        << method << " " << path << " is not in assets/swagger/openapi.json";
  }
}

TEST_F(FsRoutesFixture, RangeRequestsOnEveryMount) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>('a' + i % 26));
  ASSERT_TRUE(registry.get("mem")->write("/v.mp4", data));
  write_disk("v.mp4", data);
  for (const char* path : {"/memfs/v.mp4", "/v.mp4", "/api/v3/fs/disk/v.mp4", "/api/v3/fs/mem/v.mp4"}) {
    SCOPED_TRACE(path);
    auto get = request(http::Method::Get, path);
    bearer(get);
    auto res = call(get);
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(body_of(res), data);
    EXPECT_EQ(res.headers.get("Accept-Ranges").value_or(""), "bytes");

    get.headers.set("Range", "bytes=10-19");
    res = call(get);
    ASSERT_EQ(res.status, 206);
    EXPECT_EQ(body_of(res), data.substr(10, 10));
    EXPECT_EQ(res.body_size(), 10u);
    EXPECT_EQ(res.headers.get("Content-Range").value_or(""), "bytes 10-19/1000");

    get.headers.set("Range", "bytes=-3");
    res = call(get);
    ASSERT_EQ(res.status, 206);
    EXPECT_EQ(body_of(res), data.substr(997));

    get.headers.set("Range", "bytes=1000-");
    res = call(get);
    EXPECT_EQ(res.status, 416);
    EXPECT_EQ(res.headers.get("Content-Range").value_or(""), "bytes */1000");

    get.headers.set("Range", "bytes=0-1,5-6");  // several ranges: the whole file
    EXPECT_EQ(call(get).status, 200);

    // If-Range with another validator: the whole (changed) file, not a slice of it.
    get.headers.set("Range", "bytes=0-1");
    get.headers.set("If-Range", "\"other\"");
    EXPECT_EQ(call(get).status, 200);
    get.headers.remove("If-Range");
    get.headers.remove("Range");

    auto head = request(http::Method::Head, path);
    bearer(head);
    head.headers.set("Range", "bytes=10-19");
    res = call(head);
    EXPECT_EQ(res.status, 200);  // ranges are for GET
  }
}

TEST_F(FsRoutesFixture, ConditionalRequestsAnswer304) {
  ASSERT_TRUE(registry.get("mem")->write("/s.ts", "segment"));
  write_disk("s.ts", "segment");
  for (const char* path : {"/memfs/s.ts", "/s.ts"}) {
    SCOPED_TRACE(path);
    auto get = request(http::Method::Get, path);
    auto res = call(get);
    ASSERT_EQ(res.status, 200);
    const std::string etag(res.headers.get("ETag").value_or(""));
    const std::string modified(res.headers.get("Last-Modified").value_or(""));
    ASSERT_TRUE(etag.size() > 2 && etag.front() == '"' && etag.back() == '"') << etag;
    get.headers.set("If-None-Match", "\"nope\", " + etag);
    res = call(get);
    EXPECT_EQ(res.status, 304);
    EXPECT_EQ(res.body_size(), 0u);
    EXPECT_EQ(res.headers.get("ETag").value_or(""), etag);
    get.headers.set("If-None-Match", "\"nope\"");
    EXPECT_EQ(call(get).status, 200);
    get.headers.remove("If-None-Match");
    get.headers.set("If-Modified-Since", modified);
    EXPECT_EQ(call(get).status, 304);
    get.headers.set("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(call(get).status, 200);
    get.headers.set("If-Modified-Since", "not a date");
    EXPECT_EQ(call(get).status, 200);
  }
}

TEST_F(FsRoutesFixture, DiskMountServesFilesIndexAndRedirects) {
  auto root = request(http::Method::Get, "/");
  auto res = call(root);
  EXPECT_EQ(res.status, 302);  // no index.html yet: the embedded UI
  EXPECT_EQ(res.headers.get("Location").value_or(""), "/ui/");

  write_disk("index.html", "<h1>home</h1>");
  write_disk("docs/index.html", "<h1>docs</h1>");
  write_disk("noext", "plain");
  res = call(root);
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(body_of(res), "<h1>home</h1>");
  EXPECT_EQ(res.headers.get("Content-Type").value_or(""), "text/html; charset=utf-8");
  auto docs = request(http::Method::Get, "/docs/");
  EXPECT_EQ(body_of(call(docs)), "<h1>docs</h1>");
  auto noext = request(http::Method::Get, "/noext");
  res = call(noext);
  EXPECT_EQ(res.headers.get("Content-Type").value_or(""), "text/html");  // upstream's disk default
  auto missing = request(http::Method::Get, "/nothing.ts");
  EXPECT_EQ(call(missing).status, 404);
  // Read-only over HTTP: writes go through /api/v3/fs/disk.
  auto put = request(http::Method::Put, "/x.ts", "x");
  bearer(put);
  EXPECT_EQ(call(put).status, 405);
  EXPECT_FALSE(std::filesystem::exists(dir / "data" / "x.ts"));
  // Routes of the API still win over the disk.
  auto about = request(http::Method::Get, "/api/v3/fs");
  bearer(about);
  EXPECT_TRUE(nlohmann::json::parse(call(about).body).is_array());
}

TEST_F(FsRoutesFixture, DiskPlaylistsLoseTheAbsoluteDataDir) {
  const auto root = (dir / "data").string();
  write_disk("live/x.m3u8", "#EXTM3U\n#EXTINF:2.0,\n" + root + "/live/x_1.ts\n#EXTINF:2.0,\nx_2.ts\n#" + root +
                                "/comment\n");
  auto get = request(http::Method::Get, "/live/x.m3u8");
  auto res = call(get);
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(body_of(res), "#EXTM3U\n#EXTINF:2.0,\n/live/x_1.ts\n#EXTINF:2.0,\nx_2.ts\n#" + root + "/comment\n");
  EXPECT_EQ(res.headers.get("Cache-Control").value_or(""), "private");
  EXPECT_EQ(res.headers.get("Content-Type").value_or(""), "application/vnd.apple.mpegurl");
}

TEST_F(FsRoutesFixture, DiskCacheHitsUntilTheFileChanges) {
  write_disk("seg.ts", "first");
  auto get = request(http::Method::Get, "/seg.ts");
  auto res = call(get);
  EXPECT_EQ(res.headers.get("X-Cache").value_or(""), "MISS");
  res = call(get);
  EXPECT_TRUE(res.headers.get("X-Cache").value_or("").starts_with("HIT ")) << res.headers.get("X-Cache").value_or("");
  EXPECT_EQ(body_of(res), "first");
  ASSERT_TRUE(res.shared);  // served from memory
  // Rewritten behind the API (FFmpeg through {diskfs}): the stale copy is not served.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  write_disk("seg.ts", "second!");
  res = call(get);
  EXPECT_EQ(res.headers.get("X-Cache").value_or(""), "MISS");
  EXPECT_EQ(body_of(res), "second!");
  // Through the API: invalidated as well.
  auto put = request(http::Method::Put, "/api/v3/fs/disk/seg.ts", "third");
  bearer(put);
  EXPECT_EQ(call(put).status, 204);
  EXPECT_EQ(body_of(call(get)), "third");

  write_disk("live.m3u8", "#EXTM3U\n");
  auto playlist = request(http::Method::Get, "/live.m3u8");
  EXPECT_EQ(call(playlist).headers.get("X-Cache").value_or(""), "SKIP EXT");  // .m3u8 blocked by default
  auto head = request(http::Method::Head, "/seg.ts");
  EXPECT_EQ(call(head).headers.get("X-Cache").value_or(""), "SKIP ONLYGET");
  auto missing = request(http::Method::Get, "/missing.ts");
  EXPECT_EQ(call(missing).headers.get("X-Cache").value_or(""), "SKIP NOTOK");
}

TEST_F(FsRoutesFixture, MimeTypesFileDecidesContentTypes) {
  const auto mime = dir / "mime.types";
  {
    std::ofstream(mime) << "application/x-dragon-test dtst\nvideo/x-custom-ts ts\n";
  }
  auto cfg = std::make_shared<config::Config>(*store->active());
  cfg->set("storage.mimetypes_file", mime.string());
  api::ApiContext c2;
  c2.store = store.get();
  c2.config = cfg;
  api::prepare_context(c2);
  http::Router r;
  api::register_fs_routes(r, c2, &registry);
  http::Service svc(r, http::ServiceOptions{}, api::make_authorizer(c2));
  ASSERT_TRUE(registry.get("mem")->write("/a.dtst", "x"));
  ASSERT_TRUE(registry.get("mem")->write("/a.ts", "x"));
  ASSERT_TRUE(registry.get("mem")->write("/a.m3u8", "x"));
  for (const auto& [path, type] : std::vector<std::pair<std::string, std::string>>{
           {"/memfs/a.dtst", "application/x-dragon-test"},
           {"/memfs/a.ts", "video/x-custom-ts"},
           {"/memfs/a.m3u8", "application/vnd.apple.mpegurl"}}) {
    auto req = request(http::Method::Get, path);
    EXPECT_EQ(svc.handle(req).headers.get("Content-Type").value_or(""), type) << path;
  }
}

TEST(FsContentTypes, ByExtension) {
  EXPECT_EQ(api::content_type_for("/a/live.m3u8"), "application/vnd.apple.mpegurl");
  EXPECT_EQ(api::content_type_for("/a/seg.TS"), "video/MP2T");
  EXPECT_EQ(api::content_type_for("/a/init.mp4"), "video/mp4");
  EXPECT_EQ(api::content_type_for("/a/c.m4s"), "video/iso.segment");
  EXPECT_EQ(api::content_type_for("/manifest.mpd"), "application/dash+xml");
  EXPECT_EQ(api::content_type_for("/x.png"), "image/png");
  EXPECT_EQ(api::content_type_for("/x.jpg"), "image/jpeg");
  EXPECT_EQ(api::content_type_for("/x.json"), "application/json");
  EXPECT_EQ(api::content_type_for("/noext"), "application/data");
  EXPECT_EQ(api::content_type_for("/dir.d/noext"), "application/data");
}
