// The key table itself, the default document and its layout against upstream's real GET /api/v3/config.
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config_test_helpers.hpp"

namespace dragon::config {
namespace {

using testing::has_error;
using testing::valid_config;

TEST(ConfigKeys, TableIsConsistent) {
  std::set<std::string> paths, vars, envs;
  for (const auto& k : keys()) {
    EXPECT_TRUE(paths.insert(k.json_path).second) << "duplicate path " << k.json_path;
    EXPECT_TRUE(vars.insert(k.var_name).second) << "duplicate var " << k.var_name;
    for (const auto& e : k.env) EXPECT_TRUE(envs.insert(e).second) << "duplicate env " << e;
    EXPECT_FALSE(k.doc.empty()) << k.json_path;
    EXPECT_EQ(k.doc.find('\n'), std::string::npos) << k.json_path;
    EXPECT_TRUE(k.default_value) << k.json_path;
    EXPECT_TRUE(k.validate) << k.json_path;
    EXPECT_EQ(find_key(k.json_path), &k);
  }
  EXPECT_EQ(find_key("no.such.key"), nullptr);
  EXPECT_EQ(find_key("storage.disk.cache.type.allow"), nullptr);  // var names are not paths
}

TEST(ConfigKeys, UpstreamNamesAndExceptions) {
  EXPECT_EQ(find_key("log.max_lines")->env, (std::vector<std::string>{"CORE_LOG_MAX_LINES", "CORE_LOG_MAXLINES"}));
  EXPECT_EQ(find_key("api.auth.username")->env, (std::vector<std::string>{"CORE_API_AUTH_USERNAME", "RS_USERNAME"}));
  EXPECT_EQ(find_key("api.auth.password")->env, (std::vector<std::string>{"CORE_API_AUTH_PASSWORD", "RS_PASSWORD"}));
  EXPECT_EQ(find_key("tls.cert_file")->env, (std::vector<std::string>{"CORE_TLS_CERT_FILE", "CORE_TLS_CERTFILE"}));
  EXPECT_EQ(find_key("ffmpeg.max_processes")->env, (std::vector<std::string>{"CORE_FFMPEG_MAXPROCESSES"}));
  EXPECT_EQ(find_key("sessions.max_bitrate_mbit")->env, (std::vector<std::string>{"CORE_SESSIONS_MAXBITRATE_MBIT"}));
  EXPECT_EQ(find_key("storage.disk.cache.types.allow")->var_name, "storage.disk.cache.type.allow");
  EXPECT_EQ(find_key("storage.disk.cache.types.allow")->env[1], "CORE_STORAGE_DISK_CACHE_TYPES");
  EXPECT_EQ(find_key("storage.disk.cache.types.block")->var_name, "storage.disk.cache.type.block");
  EXPECT_EQ(find_key("metrics.range_sec")->var_name, "metrics.range_seconds");
  EXPECT_EQ(find_key("metrics.interval_sec")->var_name, "metrics.interval_seconds");
  EXPECT_EQ(find_key("metrics.range_sec")->env[0], "CORE_METRICS_RANGE_SECONDS");
  EXPECT_EQ(find_key("ffmpeg.access.input.allow")->list_separator, ' ');
  EXPECT_EQ(find_key("storage.s3")->list_separator, '|');
  EXPECT_EQ(find_key("log.topics")->list_separator, ',');
  EXPECT_TRUE(find_key("version")->env.empty());
  EXPECT_TRUE(find_key("created_at")->env.empty());
}

TEST(ConfigKeys, WebrtcEnvNamesFollowThePath) {
  int n = 0;
  for (const auto& k : keys()) {
    if (k.json_path.rfind("webrtc.", 0) != 0) continue;
    std::string expected = "CORE_" + k.json_path;
    for (auto& c : expected) c = c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(k.env, std::vector<std::string>{expected});
    ++n;
  }
  EXPECT_EQ(n, 17);
}

TEST(ConfigKeys, Secrets) {
  std::set<std::string> secret;
  for (const auto& k : keys()) {
    if (k.secret) secret.insert(k.json_path);
  }
  EXPECT_EQ(secret, (std::set<std::string>{"api.auth.password", "api.auth.jwt.secret", "storage.memory.auth.password",
                                           "service.token"}));
  EXPECT_EQ(find_key("storage.s3")->secret_fields, (std::vector<std::string>{"secret_access_key", "auth.password"}));
  // The UI builds publish URLs from these.
  EXPECT_FALSE(find_key("rtmp.token")->secret);
  EXPECT_FALSE(find_key("srt.token")->secret);
  EXPECT_FALSE(find_key("srt.passphrase")->secret);
  EXPECT_FALSE(find_key("webrtc.token")->secret);
}

TEST(ConfigKeys, DefaultsAndDeliberateChanges) {
  const auto c = Config::defaults();
  EXPECT_EQ(c.get_int("version"), 3);
  EXPECT_TRUE(c.get_bool("api.auth.enable"));
  EXPECT_EQ(c.get_string("api.auth.username"), "admin");
  EXPECT_EQ(c.get_string("api.auth.password"), "");
  EXPECT_FALSE(c.get_bool("update_check"));
  EXPECT_FALSE(c.get_bool("host.auto"));
  EXPECT_EQ(c.get_string("address"), ":8080");
  EXPECT_EQ(c.get_string("tls.email"), "cert@datarhei.com");
  EXPECT_EQ(c.get_strings("storage.disk.cache.types.block"), (std::vector<std::string>{".m3u8", ".mpd"}));
  EXPECT_EQ(c.get_strings("sessions.ip_ignorelist"), (std::vector<std::string>{"127.0.0.1/32", "::1/128"}));
  EXPECT_EQ(c.get("router.routes"), Json::object());
  EXPECT_EQ(c.get("storage.s3"), Json::array());
  EXPECT_EQ(c.get_uint("webrtc.rtp_port_min"), 20000u);
  EXPECT_EQ(c.get_uint("webrtc.rtp_port_max"), 20999u);
  EXPECT_EQ(c.get_strings("webrtc.renditions.codecs"), (std::vector<std::string>{"vp8", "h264"}));
  EXPECT_EQ(c.get_string("webrtc.address"), ":8555");
  EXPECT_EQ(c.get_string("api.auth.jwt.secret").size(), 32u);
  EXPECT_EQ(c.get_string("storage.memory.auth.password").size(), 18u);
  EXPECT_EQ(c.get_string("id").size(), 36u);
  EXPECT_FALSE(c.get_string("name").empty());
  EXPECT_TRUE(c.overrides().empty());
}

TEST(ConfigKeys, RandomDefaultsDifferPerInstance) {
  const auto a = Config::defaults();
  const auto b = Config::defaults();
  EXPECT_NE(a.get_string("id"), b.get_string("id"));
  EXPECT_NE(a.get_string("api.auth.jwt.secret"), b.get_string("api.auth.jwt.secret"));
  EXPECT_NE(a.get_string("storage.memory.auth.password"), b.get_string("storage.memory.auth.password"));
}

TEST(ConfigKeys, DefaultsValidateOnceAPasswordIsSet) {
  const auto errors = valid_config().validate();
  EXPECT_TRUE(errors.empty()) << errors_to_string(errors);
}

TEST(ConfigKeys, DefaultsWithoutPasswordNameTheVar) {
  const auto errors = Config::defaults().validate();
  ASSERT_EQ(errors.size(), 1u) << errors_to_string(errors);
  EXPECT_EQ(errors[0].var, "api.auth.password");
  EXPECT_EQ(errors[0].message, "must not be empty when api.auth.enable is true");
}

TEST(ConfigKeys, TypedAccessorsRejectMisuse) {
  const auto c = Config::defaults();
  EXPECT_THROW((void)c.get("nope"), std::logic_error);
  EXPECT_THROW((void)c.get_bool("address"), std::logic_error);
  EXPECT_THROW((void)c.get_string("log.max_lines"), std::logic_error);
  EXPECT_THROW((void)c.get_strings("address"), std::logic_error);
  auto d = c;
  EXPECT_THROW(d.set("not.a.key", 1), std::logic_error);
  d.set("log.max_lines", -5);
  EXPECT_THROW((void)d.get_uint("log.max_lines"), std::logic_error);
  EXPECT_EQ(d.get_int("log.max_lines"), -5);
  EXPECT_DOUBLE_EQ(d.get_float("log.max_lines"), -5.0);
}

// ---------------------------------------------------------------------------------------------------
// Layout: key for key (recursively) and JSON kind for kind, upstream's answer + "webrtc".

std::string kind(const Json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "float";
  return v.type_name();
}

void compare_layout(const Json& ours, const Json& theirs, const std::string& at) {
  ASSERT_EQ(kind(ours), kind(theirs)) << "at " << at;
  if (!ours.is_object()) return;
  std::set<std::string> a, b;
  for (const auto& [k, v] : ours.items()) a.insert(k);
  for (const auto& [k, v] : theirs.items()) b.insert(k);
  EXPECT_EQ(a, b) << "at " << at;
  for (const auto& k : a) {
    if (b.count(k)) compare_layout(ours[k], theirs[k], at.empty() ? k : at + "." + k);
  }
}

TEST(ConfigKeys, LayoutMatchesUpstreamGetConfig) {
  std::ifstream in(DRAGON_SOURCE_DIR "/../shared/reference/upstream-samples/get_config.json");
  if (!in) GTEST_SKIP() << "upstream sample not available";
  std::stringstream ss;
  ss << in.rdbuf();
  const auto sample = Json::parse(ss.str());
  Json theirs = sample.at("response").at("config");
  const auto ours = Config::defaults().to_json();
  ASSERT_TRUE(ours.contains("webrtc"));
  theirs["webrtc"] = ours["webrtc"];
  compare_layout(ours, theirs, "");

  // And upstream's answer itself loads without errors (its paths do not exist here: only types matter).
  auto c = Config::defaults();
  const auto errors = c.overlay(sample.at("response").at("config"));
  EXPECT_TRUE(errors.empty()) << errors_to_string(errors);
  EXPECT_EQ(c.get_string("api.auth.password"), "oracle-test-pass");
  EXPECT_EQ(c.get_strings("host.name"), std::vector<std::string>{"127.0.0.1"});
}

TEST(ConfigKeys, WebrtcBlockLayout) {
  const auto w = Config::defaults().to_json().at("webrtc");
  const Json expected = Json::parse(R"({
    "enable": true, "address": ":8555", "udp": {"enable": true}, "tcp": {"enable": false, "address": ":8555"},
    "public_ips": [], "public_hosts": [], "ice_servers": [], "token": "", "max_viewers": 0,
    "ice_timeout_seconds": 10, "rtp_port_min": 20000, "rtp_port_max": 20999, "gop_cache": true,
    "renditions": {"max": 4, "codecs": ["vp8", "h264"], "idle_seconds": 30}})");
  EXPECT_EQ(w, expected);
}

}  // namespace
}  // namespace dragon::config
