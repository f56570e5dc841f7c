// Environment binding: canonical and deprecated names, Go bool forms, lists, maps, JSON values, overrides.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config_test_helpers.hpp"
#include "log/log.hpp"
#include "util/base64.hpp"

namespace dragon::config {
namespace {

using testing::has_error;

Config with_env(const Environment& env, Errors* errors = nullptr) {
  auto c = Config::defaults();
  auto e = c.apply_env(env);
  if (errors) *errors = e;
  else EXPECT_TRUE(e.empty()) << errors_to_string(e);
  return c;
}

TEST(ConfigEnv, GoParseBoolForms) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    EXPECT_TRUE(with_env({{"CORE_RTMP_ENABLE", t}}).get_bool("rtmp.enable")) << t;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_FALSE(with_env({{"CORE_API_AUTH_ENABLE", f}}).get_bool("api.auth.enable")) << f;
  }
  for (const char* bad : {"yes", "on", "tRUE", " true", ""}) {
    Errors errors;
    const auto c = with_env({{"CORE_API_AUTH_ENABLE", bad}}, &errors);
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].var, "api.auth.enable");
    EXPECT_NE(errors[0].message.find("CORE_API_AUTH_ENABLE"), std::string::npos) << errors[0].message;
    EXPECT_NE(errors[0].message.find("expected a boolean"), std::string::npos) << errors[0].message;
  }
  Errors errors;
  with_env({{"CORE_API_AUTH_ENABLE", "yes"}}, &errors);
  EXPECT_NE(errors[0].message.find("got \"yes\""), std::string::npos) << errors[0].message;
}

TEST(ConfigEnv, Numbers) {
  EXPECT_EQ(with_env({{"CORE_LOG_MAX_LINES", "250"}}).get_int("log.max_lines"), 250);
  EXPECT_EQ(with_env({{"CORE_DEBUG_FORCE_GC", "-3"}}).get_int("debug.force_gc"), -3);
  EXPECT_EQ(with_env({{"CORE_SESSIONS_MAX_SESSIONS", "18446744073709551615"}}).get_uint("sessions.max_sessions"),
            18446744073709551615ull);
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"CORE_LOG_MAX_LINES", "12abc"},
           {"CORE_LOG_MAX_LINES", "1.5"},
           {"CORE_LOG_MAX_LINES", "99999999999999999999999"},
           {"CORE_SESSIONS_MAX_SESSIONS", "-1"},
           {"CORE_WEBRTC_MAX_VIEWERS", "+"},
           {"CORE_WEBRTC_MAX_VIEWERS", ""}}) {
    Errors errors;
    with_env({{name, value}}, &errors);
    EXPECT_EQ(errors.size(), 1u) << name << "=" << value;
  }
}

TEST(ConfigEnv, AlternativeNamesWarnAndCanonicalWins) {
  log::configure({});
  auto c = with_env({{"RS_USERNAME", "legacy"}, {"CORE_LOG_MAXLINES", "77"}, {"CORE_TLS_CERTFILE", "/x.pem"}});
  EXPECT_EQ(c.get_string("api.auth.username"), "legacy");
  EXPECT_EQ(c.get_int("log.max_lines"), 77);
  EXPECT_EQ(c.get_string("tls.cert_file"), "/x.pem");
  EXPECT_EQ(c.overrides(), (std::vector<std::string>{"log.max_lines", "api.auth.username", "tls.cert_file"}));
  bool warned = false;
  for (const auto& e : log::recent()) {
    if (e.level == log::Level::Warn && e.message == "RS_USERNAME is deprecated, use CORE_API_AUTH_USERNAME") warned = true;
  }
  EXPECT_TRUE(warned);

  c = with_env({{"RS_USERNAME", "legacy"}, {"CORE_API_AUTH_USERNAME", "modern"}});
  EXPECT_EQ(c.get_string("api.auth.username"), "modern");
}

TEST(ConfigEnv, ListsSplitTrimAndDropEmpties) {
  auto c = with_env({{"CORE_LOG_TOPICS", " http, core,,rtmp ,"}, {"CORE_HOST_NAME", "a.example.com,b.example.com"}});
  EXPECT_EQ(c.get_strings("log.topics"), (std::vector<std::string>{"http", "core", "rtmp"}));
  EXPECT_EQ(c.get_strings("host.name"), (std::vector<std::string>{"a.example.com", "b.example.com"}));

  // Space-separated lists: commas are part of the items (regexes may contain them).
  c = with_env({{"CORE_FFMPEG_ACCESS_INPUT_ALLOW", "^rtmp://  ^srt://.{1,3}"},
                {"CORE_STORAGE_DISK_CACHE_TYPES_BLOCK", ".m3u8 .mpd,.ts"}});
  EXPECT_EQ(c.get_strings("ffmpeg.access.input.allow"), (std::vector<std::string>{"^rtmp://", "^srt://.{1,3}"}));
  EXPECT_EQ(c.get_strings("storage.disk.cache.types.block"), (std::vector<std::string>{".m3u8", ".mpd,.ts"}));

  c = with_env({{"CORE_STORAGE_DISK_CACHE_TYPES", ".ts .mp4"}});  // upstream v2's name
  EXPECT_EQ(c.get_strings("storage.disk.cache.types.allow"), (std::vector<std::string>{".ts", ".mp4"}));
  EXPECT_EQ(c.overrides(), std::vector<std::string>{"storage.disk.cache.type.allow"});

  c = with_env({{"CORE_SESSIONS_IP_IGNORELIST", ""}});
  EXPECT_TRUE(c.get_strings("sessions.ip_ignorelist").empty());
}

TEST(ConfigEnv, StringMapAndAddress) {
  auto c = with_env({{"CORE_ROUTER_ROUTES", "/a:/b  /c:/d:e"}, {"CORE_ADDRESS", "9000"}, {"CORE_TLS_ADDRESS", "127.0.0.1:9443"}});
  EXPECT_EQ(c.get("router.routes"), (Json{{"/a", "/b"}, {"/c", "/d:e"}}));
  EXPECT_EQ(c.get_string("address"), ":9000");
  EXPECT_EQ(c.get_string("tls.address"), "127.0.0.1:9443");

  Errors errors;
  with_env({{"CORE_ROUTER_ROUTES", "/a:/b broken"}}, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].var, "router.routes");
  EXPECT_NE(errors[0].message.find("invalid mapping \"broken\""), std::string::npos);
}

TEST(ConfigEnv, OverridesUseVarNamesInTableOrder) {
  const auto c = with_env({{"CORE_METRICS_INTERVAL_SECONDS", "5"},
                           {"CORE_METRICS_RANGE_SECONDS", "600"},
                           {"CORE_STORAGE_DISK_CACHE_TYPES_BLOCK", ".x"},
                           {"CORE_ADDRESS", ":1"},
                           {"CORE_WEBRTC_TOKEN", "view"},
                           {"UNRELATED", "1"}});
  EXPECT_EQ(c.overrides(), (std::vector<std::string>{"address", "storage.disk.cache.type.block", "webrtc.token",
                                                     "metrics.range_seconds", "metrics.interval_seconds"}));
  EXPECT_EQ(c.get_int("metrics.range_sec"), 600);
  EXPECT_EQ(c.get_int("metrics.interval_sec"), 5);
}

TEST(ConfigEnv, ErrorsLeaveConfigUnchanged) {
  auto c = Config::defaults();
  const auto before = c.to_json();
  const auto errors = c.apply_env({{"CORE_ADDRESS", ":7000"}, {"CORE_RTMP_ENABLE", "maybe"}, {"CORE_LOG_MAX_LINES", "x"}});
  EXPECT_EQ(errors.size(), 2u);
  EXPECT_TRUE(has_error(errors, "rtmp.enable"));
  EXPECT_TRUE(has_error(errors, "log.max_lines"));
  EXPECT_EQ(c.to_json(), before);
  EXPECT_TRUE(c.overrides().empty());
}

TEST(ConfigEnv, MemfsCredentialsFromEnvForceAuth) {
  auto c = Config::defaults();
  c.set("storage.memory.auth.enable", false);
  ASSERT_TRUE(c.apply_env({{"CORE_STORAGE_MEMORY_AUTH_USERNAME", "u"}, {"CORE_STORAGE_MEMORY_AUTH_PASSWORD", "p"}}).empty());
  EXPECT_TRUE(c.get_bool("storage.memory.auth.enable"));

  c = Config::defaults();
  ASSERT_TRUE(c.apply_env({{"CORE_STORAGE_MEMORY_AUTH_USERNAME", ""}, {"CORE_STORAGE_MEMORY_AUTH_PASSWORD", ""}}).empty());
  EXPECT_FALSE(c.get_bool("storage.memory.auth.enable"));

  c = Config::defaults();
  c.set("storage.memory.auth.enable", false);
  ASSERT_TRUE(c.apply_env({{"CORE_STORAGE_MEMORY_AUTH_USERNAME", "u"}}).empty());
  EXPECT_FALSE(c.get_bool("storage.memory.auth.enable"));
}

TEST(ConfigEnv, S3AsJsonAndAsUrls) {
  auto c = with_env({{"CORE_STORAGE_S3",
                      "https://KEY:SE%2FCRET@eu-1.s3.example.com/bucket?name=media&mount=/s3&username=u&password=p"
                      " | http://K2:S2@local/b2?name=two&mount=/two"}});
  const auto& s3 = c.get("storage.s3");
  ASSERT_EQ(s3.size(), 2u);
  EXPECT_EQ(s3[0], Json::parse(R"({"name":"media","mountpoint":"/s3","auth":{"enable":true,"username":"u","password":"p"},
    "endpoint":"s3.example.com","access_key_id":"KEY","secret_access_key":"SE/CRET","bucket":"bucket",
    "region":"eu-1","use_ssl":true})"));
  EXPECT_EQ(s3[1]["name"], "two");
  EXPECT_EQ(s3[1]["use_ssl"], false);
  EXPECT_EQ(s3[1]["auth"]["enable"], false);
  EXPECT_EQ(s3[1]["region"], "local");  // upstream's rule: the first host label is the region
  EXPECT_EQ(s3[1]["endpoint"], "");

  c = with_env({{"CORE_STORAGE_S3", R"([{"name":"x","mountpoint":"/x","use_ssl":true}])"}});
  EXPECT_EQ(c.get("storage.s3")[0]["use_ssl"], true);
  EXPECT_EQ(c.get("storage.s3")[0]["auth"]["enable"], false);  // missing fields get zero values
  EXPECT_EQ(c.get("storage.s3")[0]["secret_access_key"], "");

  Errors errors;
  with_env({{"CORE_STORAGE_S3", R"([{"name":1}])"}}, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].var, "storage.s3");
  with_env({{"CORE_STORAGE_S3", "[{"}}, &errors);
  EXPECT_NE(errors[0].message.find("invalid JSON"), std::string::npos);
  with_env({{"CORE_STORAGE_S3", "not a url"}}, &errors);
  EXPECT_NE(errors[0].message.find("invalid S3 storage URL"), std::string::npos);
}

TEST(ConfigEnv, Auth0TenantsForms) {
  const std::string b64 = util::base64_encode(R"({"domain":"d.auth0.com","audience":"aud","clientid":"cid","users":["a"]})");
  auto c = with_env({{"CORE_API_AUTH_AUTH0_TENANTS", b64 + ",auth0://cid2@e.auth0.com?aud=x&user=u1&user=u2"}});
  const auto& t = c.get("api.auth.auth0.tenants");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0]["domain"], "d.auth0.com");
  EXPECT_EQ(t[1], Json::parse(R"({"domain":"e.auth0.com","audience":"x","clientid":"cid2","users":["u1","u2"]})"));
  Errors errors;
  with_env({{"CORE_API_AUTH_AUTH0_TENANTS", "%%%"}}, &errors);
  EXPECT_TRUE(has_error(errors, "api.auth.auth0.tenants", "base64"));
}

TEST(ConfigEnv, WebrtcKeys) {
  auto c = with_env({{"CORE_WEBRTC_ENABLE", "false"},
                     {"CORE_WEBRTC_PUBLIC_IPS", "203.0.113.7, 2001:db8::1"},
                     {"CORE_WEBRTC_ICE_SERVERS", R"([{"urls":"stun:stun.example.com:3478"}])"},
                     {"CORE_WEBRTC_RENDITIONS_CODECS", "h264,vp9"},
                     {"CORE_WEBRTC_TCP_ADDRESS", "8556"}});
  EXPECT_FALSE(c.get_bool("webrtc.enable"));
  EXPECT_EQ(c.get_strings("webrtc.public_ips"), (std::vector<std::string>{"203.0.113.7", "2001:db8::1"}));
  EXPECT_EQ(c.get("webrtc.ice_servers"),
            Json::parse(R"([{"urls":["stun:stun.example.com:3478"],"username":"","credential":""}])"));
  EXPECT_EQ(c.get_strings("webrtc.renditions.codecs"), (std::vector<std::string>{"h264", "vp9"}));
  EXPECT_EQ(c.get_string("webrtc.tcp.address"), ":8556");
}

TEST(ConfigEnv, InvalidUtf8IsRefused) {
  Errors errors;
  with_env({{"CORE_NAME", std::string("bad\xff\xfe")}}, &errors);
  EXPECT_TRUE(has_error(errors, "name", "UTF-8"));
}

TEST(ConfigEnv, ProcessEnvironmentReadsEnviron) {
  ::setenv("DRAGON_CONFIG_TEST_VAR", "a=b", 1);
  const auto env = process_environment();
  ASSERT_TRUE(env.count("DRAGON_CONFIG_TEST_VAR"));
  EXPECT_EQ(env.at("DRAGON_CONFIG_TEST_VAR"), "a=b");
  ::unsetenv("DRAGON_CONFIG_TEST_VAR");
}

}  // namespace
}  // namespace dragon::config
