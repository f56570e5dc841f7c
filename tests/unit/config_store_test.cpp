// Store: file creation, migration write-back, precedence, updates, reload, atomicity, malformed files,
// thread safety; and the config file search.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config_test_helpers.hpp"
#include "util/time.hpp"

namespace dragon::config {
namespace {

using testing::has_error;
using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Directories inside the temp dir (defaults would create ./config and ./data in the CWD) and a password.
Environment env_for(const TempDir& dir, Environment extra = {}) {
  Environment env = {{"CORE_DB_DIR", dir / "db"},
                     {"CORE_STORAGE_DISK_DIR", dir / "data"},
                     {"CORE_API_AUTH_PASSWORD", "env-password"}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

TEST(ConfigStore, CreatesMissingFileWithDefaults) {
  TempDir dir;
  const auto path = dir / "sub/config.json";
  Store store(path, env_for(dir));
  const auto errors = store.load();
  ASSERT_TRUE(errors.empty()) << errors_to_string(errors);
  EXPECT_TRUE(store.created_file());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto text = slurp(path);
  EXPECT_NE(text.find("\n    \"address\": \":8080\""), std::string::npos);  // 4-space indentation
  const auto doc = Json::parse(text);
  EXPECT_EQ(doc["version"], 3);
  EXPECT_EQ(doc, store.stored()->to_json());
  EXPECT_EQ(doc["api"]["auth"]["password"], "");  // env values never reach the file
  EXPECT_EQ(store.active()->get_string("api.auth.password"), "env-password");
  EXPECT_TRUE(std::filesystem::is_directory(dir / "db"));
  EXPECT_TRUE(std::filesystem::is_directory(dir / "data"));

  // The generated values persist: a second start reads the same instance.
  Store again(path, env_for(dir));
  ASSERT_TRUE(again.load().empty());
  EXPECT_FALSE(again.created_file());
  EXPECT_EQ(again.active()->get_string("id"), store.active()->get_string("id"));
  EXPECT_EQ(again.active()->get_string("api.auth.jwt.secret"), store.active()->get_string("api.auth.jwt.secret"));
  EXPECT_EQ(again.created_at(), store.created_at());
}

TEST(ConfigStore, PrecedenceEnvOverFileOverDefault) {
  TempDir dir;
  const auto path = dir / "config.json";
  spit(path, R"({"version":3,"log":{"level":"debug","max_lines":5},"created_at":"2020-01-02T03:04:05Z"})");
  Store store(path, env_for(dir, {{"CORE_LOG_LEVEL", "warn"}}));
  ASSERT_TRUE(store.load().empty());
  EXPECT_EQ(store.active()->get_string("log.level"), "warn");    // env
  EXPECT_EQ(store.active()->get_int("log.max_lines"), 5);        // file
  EXPECT_EQ(store.active()->get_string("address"), ":8080");     // default
  EXPECT_EQ(store.stored()->get_string("log.level"), "debug");   // the file keeps its value
  EXPECT_EQ(Json::parse(slurp(path))["log"]["level"], "debug");
  EXPECT_EQ(store.active()->overrides(),
            (std::vector<std::string>{"log.level", "db.dir", "api.auth.password", "storage.disk.dir"}));
  // created_at is kept from the file.
  EXPECT_EQ(store.stored()->get_string("created_at"), "2020-01-02T03:04:05Z");
  EXPECT_EQ(util::unix_seconds(store.created_at()), 1577934245);
}

TEST(ConfigStore, MigratesAndWritesBack) {
  TempDir dir;
  const auto path = dir / "config.json";
  spit(path, R"({"version":2,"id":"fixed-id","storage":{"disk":{"cache":{"types":[".ts"]}}},"unknown":1})");
  Store store(path, env_for(dir));
  ASSERT_TRUE(store.load().empty());
  const auto doc = Json::parse(slurp(path));
  EXPECT_EQ(doc["version"], 3);
  EXPECT_EQ(doc["id"], "fixed-id");
  EXPECT_EQ(doc["storage"]["disk"]["cache"]["types"]["allow"], Json::array({".ts"}));
  EXPECT_FALSE(doc.contains("unknown"));
  EXPECT_TRUE(doc.contains("webrtc"));
}

TEST(ConfigStore, MalformedFileIsReportedAndLeftAlone) {
  TempDir dir;
  const auto path = dir / "config.json";
  const std::string text = "{\n  \"version\": 3,\n  \"log\": {\"level\": debug}\n}\n";
  spit(path, text);
  Store store(path, env_for(dir));
  const auto errors = store.load();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].var, "");
  EXPECT_NE(errors[0].message.find(path), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[0].message.find("line 3, column 20"), std::string::npos) << errors[0].message;
  EXPECT_EQ(slurp(path), text);
}

TEST(ConfigStore, BadValuesInFileAreReportedByVarAndLeftAlone) {
  TempDir dir;
  const auto path = dir / "config.json";
  const std::string text = R"({"version":3,"rtmp":{"enable":"yes"}})";
  spit(path, text);
  Store store(path, env_for(dir));
  const auto errors = store.load();
  EXPECT_TRUE(has_error(errors, "rtmp.enable", "expected a boolean")) << errors_to_string(errors);
  EXPECT_EQ(slurp(path), text);

  spit(path, R"({"version":7})");
  EXPECT_TRUE(has_error(Store(path, env_for(dir)).load(), "version", "Invalid config version"));
  EXPECT_EQ(slurp(path), R"({"version":7})");
}

TEST(ConfigStore, EnvAndValidationErrorsStopLoad) {
  TempDir dir;
  const auto path = dir / "config.json";
  Store bad_env(path, env_for(dir, {{"CORE_RTMP_ENABLE", "maybe"}}));
  EXPECT_TRUE(has_error(bad_env.load(), "rtmp.enable", "CORE_RTMP_ENABLE"));

  Environment env = env_for(dir);
  env.erase("CORE_API_AUTH_PASSWORD");
  // First start with auth on and no password: load() generates one, stores it and reports it once.
  Store no_password(path, env);
  ASSERT_TRUE(no_password.load().empty());
  const auto generated = no_password.generated_password();
  ASSERT_TRUE(generated);
  EXPECT_GE(generated->size(), 20u);
  EXPECT_EQ(no_password.active()->get_string("api.auth.password"), *generated);
  EXPECT_EQ(Json::parse(slurp(path))["api"]["auth"]["password"], *generated);
  // The next start finds it stored and generates nothing.
  Store again(path, env);
  ASSERT_TRUE(again.load().empty());
  EXPECT_FALSE(again.generated_password());
  EXPECT_EQ(again.active()->get_string("api.auth.password"), *generated);
  // Explicitly disabled auth needs no password.
  Store off(dir / "off.json", env_for(dir, {{"CORE_API_AUTH_ENABLE", "false"}}));
  ASSERT_TRUE(off.load().empty());
  EXPECT_FALSE(off.generated_password());
}

TEST(ConfigStore, DirectoryCreationFailureIsKeyedByVar) {
  TempDir dir;
  spit(dir / "blocker", "x");
  Store store(dir / "config.json", env_for(dir, {{"CORE_STORAGE_DISK_DIR", dir / "blocker/data"}}));
  EXPECT_TRUE(has_error(store.load(), "storage.disk.dir", "cannot create directory"));
}

TEST(ConfigStore, UpdateIsPartialStoredAndActiveAfterReload) {
  TempDir dir;
  const auto path = dir / "config.json";
  Store store(path, env_for(dir, {{"CORE_LOG_LEVEL", "warn"}}));
  ASSERT_TRUE(store.load().empty());
  const auto id = store.stored()->get_string("id");
  const auto old_created = store.stored()->get_string("created_at");
  EXPECT_EQ(store.updated_at(), std::chrono::system_clock::time_point{});

  const auto errors = store.update(Json::parse(R"({"version":3,"rtmp":{"enable":true},"log":{"level":"error"}})"));
  ASSERT_TRUE(errors.empty()) << errors_to_string(errors);
  EXPECT_TRUE(store.stored()->get_bool("rtmp.enable"));
  EXPECT_EQ(store.stored()->get_string("log.level"), "error");
  EXPECT_EQ(store.stored()->get_string("id"), id);  // partial
  EXPECT_NE(store.stored()->get_string("created_at"), old_created);
  EXPECT_NE(store.updated_at(), std::chrono::system_clock::time_point{});
  EXPECT_TRUE(Json::parse(slurp(path))["rtmp"]["enable"].get<bool>());
  EXPECT_FALSE(store.active()->get_bool("rtmp.enable"));  // not yet
  EXPECT_TRUE(store.api_view()["config"]["rtmp"]["enable"].get<bool>());  // GET shows it, as upstream
  EXPECT_EQ(store.api_view()["config"]["log"]["level"], "warn");  // env still wins

  ASSERT_TRUE(store.reload().empty());
  EXPECT_TRUE(store.active()->get_bool("rtmp.enable"));
  EXPECT_EQ(store.active()->get_string("log.level"), "warn");
}

TEST(ConfigStore, FailedUpdateChangesNothing) {
  TempDir dir;
  const auto path = dir / "config.json";
  Store store(path, env_for(dir));
  ASSERT_TRUE(store.load().empty());
  const auto file_before = slurp(path);
  const auto stored_before = store.stored()->to_json();
  const auto view_before = store.api_view();

  auto errors = store.update(Json::parse(R"({"rtmp":{"enable":"yes"}})"));
  EXPECT_TRUE(has_error(errors, "rtmp.enable", "expected a boolean, got \"yes\""));
  errors = store.update(Json::parse(R"({"log":{"level":"loud"},"address":":1"})"));
  EXPECT_TRUE(has_error(errors, "log.level", "must be one of"));
  errors = store.update(Json::parse(R"({"version":9})"));
  EXPECT_TRUE(has_error(errors, "version"));
  errors = store.update(Json::parse("[1,2]"));
  EXPECT_TRUE(has_error(errors, ""));
  std::string deep = std::string(1000, '[') + std::string(1000, ']');
  errors = store.update(Json::parse("{\"x\":" + deep + "}"));
  EXPECT_TRUE(has_error(errors, "", "nested too deeply"));

  EXPECT_EQ(slurp(path), file_before);
  EXPECT_EQ(store.stored()->to_json(), stored_before);
  EXPECT_EQ(store.api_view(), view_before);
  EXPECT_EQ(store.updated_at(), std::chrono::system_clock::time_point{});
}

TEST(ConfigStore, GetPutRoundTripKeepsSecrets) {
  TempDir dir;
  const auto path = dir / "config.json";
  Environment env = env_for(dir);
  env.erase("CORE_API_AUTH_PASSWORD");
  spit(path, R"({"version":3,"api":{"auth":{"password":"file-password"}},"service":{"token":"svc"},
      "storage":{"s3":[{"name":"m","mountpoint":"/m","secret_access_key":"s3-secret"}]}})");
  Store store(path, env);
  ASSERT_TRUE(store.load().empty());
  const auto secret = store.stored()->get_string("api.auth.jwt.secret");

  Json body = store.api_view()["config"];
  EXPECT_EQ(body["api"]["auth"]["password"], k_redacted);
  body["name"] = "renamed";
  ASSERT_TRUE(store.update(body).empty());
  const auto file = Json::parse(slurp(path));
  EXPECT_EQ(file["api"]["auth"]["password"], "file-password");
  EXPECT_EQ(file["api"]["auth"]["jwt"]["secret"], secret);
  EXPECT_EQ(file["service"]["token"], "svc");
  EXPECT_EQ(file["storage"]["s3"][0]["secret_access_key"], "s3-secret");
  EXPECT_EQ(file["name"], "renamed");
}

TEST(ConfigStore, ApiViewShape) {
  TempDir dir;
  Store store(dir / "config.json", env_for(dir));
  ASSERT_TRUE(store.load().empty());
  const auto view = store.api_view();
  std::vector<std::string> keys;
  for (const auto& [k, v] : view.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"config", "created_at", "loaded_at", "overrides", "updated_at"}));
  EXPECT_EQ(view["updated_at"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(view["created_at"], view["config"]["created_at"]);
  EXPECT_EQ(view["config"]["api"]["auth"]["password"], k_redacted);
  EXPECT_EQ(view["overrides"], Json::parse(R"(["db.dir","api.auth.password","storage.disk.dir"])"));
  EXPECT_NE(store.loaded_at(), std::chrono::system_clock::time_point{});
}

TEST(ConfigStore, StoreValueRespectsEnvOverrides) {
  TempDir dir;
  const auto path = dir / "config.json";
  Store store(path, env_for(dir));
  ASSERT_TRUE(store.load().empty());
  store.store_value("api.auth.password", "stored-only");  // env overrides it in the running config
  EXPECT_EQ(store.stored()->get_string("api.auth.password"), "stored-only");
  EXPECT_EQ(store.active()->get_string("api.auth.password"), "env-password");
  store.store_value("name", "given-name");
  EXPECT_EQ(store.active()->get_string("name"), "given-name");
  EXPECT_EQ(Json::parse(slurp(path))["name"], "given-name");
}

TEST(ConfigStore, SnapshotsAreThreadSafe) {
  TempDir dir;
  Store store(dir / "config.json", env_for(dir));
  ASSERT_TRUE(store.load().empty());
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        const auto snap = store.active();
        const auto level = snap->get_string("log.level");
        EXPECT_TRUE(level == "info" || level == "debug" || level == "error");
        (void)store.api_view();
        ++reads;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store.update({{"log", {{"level", i % 2 ? "debug" : "error"}}}}).empty());
    ASSERT_TRUE(store.reload().empty());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0);
}

// ---------------------------------------------------------------------------------------------------

TEST(ConfigLocate, FlagThenEnvThenSearchList) {
  EXPECT_EQ(locate_config_file(std::string("/x/flag.json"), {{"CORE_CONFIGFILE", "/x/env.json"}}), "/x/flag.json");
  EXPECT_EQ(locate_config_file(std::nullopt, {{"CORE_CONFIGFILE", "/x/env.json"}}), "/x/env.json");
  EXPECT_EQ(locate_config_file(std::string(""), {{"CORE_CONFIGFILE", "/x/env.json"}}), "/x/env.json");

  if (std::filesystem::exists("./config/config.js") || std::filesystem::exists("./config/config.json")) {
    GTEST_SKIP() << "the CWD has a config file, which would win";
  }
  TempDir dir;
  const Environment env = {{"HOME", dir / "home"}, {"XDG_CONFIG_HOME", dir / "xdg"}};
  EXPECT_EQ(locate_config_file(std::nullopt, env), "./config/config.json");
  std::filesystem::create_directories(dir / "xdg/datarhei-core");
  std::filesystem::create_directories(dir / "home/.config/datarhei-core");
  spit(dir / "xdg/datarhei-core/config.json", "{}");
  EXPECT_EQ(locate_config_file(std::nullopt, env), dir / "xdg/datarhei-core/config.json");
  spit(dir / "home/.config/datarhei-core/config.js", "{}");
  EXPECT_EQ(locate_config_file(std::nullopt, env), dir / "home/.config/datarhei-core/config.js");  // the last one wins
  // Without XDG_CONFIG_HOME the user config dir is ~/.config.
  EXPECT_EQ(locate_config_file(std::nullopt, {{"HOME", dir / "home"}}), dir / "home/.config/datarhei-core/config.js");
  std::filesystem::create_directories(dir / "xdg/datarhei-core/config.js");  // directories do not count
  EXPECT_EQ(locate_config_file(std::nullopt, {{"XDG_CONFIG_HOME", dir / "xdg"}}), dir / "xdg/datarhei-core/config.json");
}

}  // namespace
}  // namespace dragon::config
