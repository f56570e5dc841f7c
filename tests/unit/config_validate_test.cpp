// Per-key validators and cross-field rules: every error names its variable and says why.
#include <fstream>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config_test_helpers.hpp"

namespace dragon::config {
namespace {

using testing::has_error;
using testing::TempDir;
using testing::valid_config;

Errors validate_with(const Json& doc) {
  auto c = valid_config();
  const auto overlay_errors = c.overlay(doc);
  EXPECT_TRUE(overlay_errors.empty()) << errors_to_string(overlay_errors);
  return c.validate();
}

TEST(ConfigValidate, LogLevel) {
  const auto errors = validate_with({{"log", {{"level", "loud"}}}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].var, "log.level");
  EXPECT_EQ(errors[0].message, "must be one of silent, error, warn, info, debug, got \"loud\"");
  EXPECT_TRUE(validate_with({{"log", {{"level", "DEBUG"}}}}).empty());
}

TEST(ConfigValidate, Addresses) {
  EXPECT_TRUE(has_error(validate_with({{"address", ":99999"}}), "address", "port must be 1..65535"));
  EXPECT_TRUE(has_error(validate_with({{"address", ":0"}}), "address", "port must be 1..65535"));
  EXPECT_TRUE(has_error(validate_with({{"address", "localhost"}}), "address", "expected host:port or :port"));
  EXPECT_TRUE(has_error(validate_with({{"address", "::1:80"}}), "address", "need brackets"));
  EXPECT_TRUE(has_error(validate_with({{"tls", {{"address", ":http"}}}}), "tls.address", "port must be 1..65535"));
  EXPECT_TRUE(validate_with({{"address", "[::1]:8080"}}).empty());
  EXPECT_TRUE(validate_with({{"address", "127.0.0.1:8080"}}).empty());
  EXPECT_TRUE(validate_with({{"address", "example.com:8080"}}).empty());
}

TEST(ConfigValidate, CidrLists) {
  EXPECT_TRUE(has_error(validate_with({{"api", {{"access", {{"http", {{"allow", {"10.0.0.0/8", "x"}}}}}}}}}),
                        "api.access.http.allow", "invalid CIDR \"x\""));
  EXPECT_TRUE(has_error(validate_with({{"sessions", {{"ip_ignorelist", {"127.0.0.1"}}}}}), "sessions.ip_ignorelist",
                        "invalid CIDR \"127.0.0.1\""));
  EXPECT_TRUE(has_error(validate_with({{"api", {{"access", {{"https", {{"block", {"10.0.0.0/33"}}}}}}}}}),
                        "api.access.https.block"));
  EXPECT_TRUE(validate_with({{"api", {{"access", {{"https", {{"block", {"2001:db8::/32", "0.0.0.0/0"}}}}}}}}}).empty());
}

TEST(ConfigValidate, FfmpegAccessRegexes) {
  const auto errors = validate_with({{"ffmpeg", {{"access", {{"input", {{"allow", {"^rtmp://", "("}}}}}}}}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].var, "ffmpeg.access.input.allow");
  EXPECT_EQ(errors[0].message.rfind("invalid regular expression \"(\": ", 0), 0u) << errors[0].message;
  EXPECT_TRUE(has_error(validate_with({{"ffmpeg", {{"access", {{"output", {{"block", {std::string(200, '(')}}}}}}}}}),
                        "ffmpeg.access.output.block", "too deeply"));
  EXPECT_TRUE(has_error(validate_with({{"ffmpeg", {{"access", {{"output", {{"block", {std::string(5000, 'a')}}}}}}}}}),
                        "ffmpeg.access.output.block", "too long"));
}

TEST(ConfigValidate, CorsOrigins) {
  EXPECT_TRUE(has_error(validate_with({{"storage", {{"cors", {{"origins", {"example.com"}}}}}}}), "storage.cors.origins",
                        "invalid CORS origin \"example.com\""));
  EXPECT_TRUE(validate_with({{"storage", {{"cors", {{"origins", {"*", "https://a.example", "http://b:8080"}}}}}}}).empty());
}

TEST(ConfigValidate, AuthNeedsUsernameAndPassword) {
  auto errors = validate_with({{"api", {{"auth", {{"username", ""}, {"password", ""}}}}}});
  EXPECT_TRUE(has_error(errors, "api.auth.username", "must not be empty when api.auth.enable"));
  EXPECT_TRUE(has_error(errors, "api.auth.password", "must not be empty when api.auth.enable"));
  EXPECT_TRUE(validate_with({{"api", {{"auth", {{"enable", false}, {"username", ""}, {"password", ""}}}}}}).empty());
  errors = validate_with({{"api", {{"auth", {{"password", std::string(k_redacted)}}}}}});
  EXPECT_TRUE(has_error(errors, "api.auth.password", "redaction marker"));
  errors = validate_with({{"api", {{"auth", {{"jwt", {{"secret", std::string(k_redacted)}}}}}}}});
  EXPECT_TRUE(has_error(errors, "api.auth.jwt.secret", "redaction marker"));
}

TEST(ConfigValidate, Auth0) {
  EXPECT_TRUE(has_error(validate_with({{"api", {{"auth", {{"auth0", {{"enable", true}}}}}}}}), "api.auth.auth0.enable",
                        "at least one tenant"));
  const auto errors = validate_with(Json::parse(R"({"api":{"auth":{"auth0":{"enable":true,
      "tenants":[{"domain":"d","audience":"a"}]}}}})"));
  EXPECT_TRUE(has_error(errors, "api.auth.auth0.tenants", "clientid for tenant 0"));
  EXPECT_TRUE(has_error(validate_with(Json::parse(R"({"api":{"auth":{"auth0":{"tenants":[{"domain":"d"}]}}}})")),
                        "api.auth.auth0.tenants", "audience for tenant 0"));
}

TEST(ConfigValidate, Tls) {
  auto errors = validate_with({{"tls", {{"enable", true}}}});
  EXPECT_TRUE(has_error(errors, "tls.cert_file", "must be set"));
  EXPECT_TRUE(has_error(errors, "tls.key_file", "must be set"));

  errors = validate_with({{"tls", {{"enable", true}, {"auto", true}}}});
  EXPECT_FALSE(has_error(errors, "tls.cert_file"));
  EXPECT_TRUE(has_error(errors, "host.name", "a host name must be set"));
  errors = validate_with({{"tls", {{"enable", true}, {"auto", true}}}, {"host", {{"name", {"1.2.3.4", "a.example"}}}}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(has_error(errors, "host.name", "found IP address \"1.2.3.4\""));
  EXPECT_TRUE(has_error(validate_with({{"tls", {{"email", "not-an-email"}}}}), "tls.email", "invalid email"));

  TempDir dir;
  std::ofstream(dir / "cert.pem") << "x";
  std::ofstream(dir / "key.pem") << "x";
  EXPECT_TRUE(validate_with({{"tls", {{"enable", true}, {"cert_file", dir / "cert.pem"}, {"key_file", dir / "key.pem"}}}})
                  .empty());
  EXPECT_TRUE(has_error(validate_with({{"tls", {{"cert_file", dir / "missing.pem"}}}}), "tls.cert_file", "does not exist"));
  EXPECT_TRUE(has_error(validate_with({{"tls", {{"key_file", dir.path()}}}}), "tls.key_file", "not a regular file"));
}

TEST(ConfigValidate, MimetypesDefaultMayBeMissing) {
  EXPECT_TRUE(validate_with({{"storage", {{"mimetypes_file", "./mime.types"}}}}).empty());
  EXPECT_TRUE(has_error(validate_with({{"storage", {{"mimetypes_file", "/nonexistent/mime.types"}}}}),
                        "storage.mimetypes_file", "does not exist"));
}

TEST(ConfigValidate, ExecDirAbsPathAndUiPath) {
  EXPECT_TRUE(has_error(validate_with({{"ffmpeg", {{"binary", "/nonexistent/ffmpeg"}}}}), "ffmpeg.binary", "not found"));
  EXPECT_TRUE(has_error(validate_with({{"ffmpeg", {{"binary", "no-such-program-here"}}}}), "ffmpeg.binary", "not found in PATH"));
  EXPECT_TRUE(has_error(validate_with({{"ffmpeg", {{"binary", ""}}}}), "ffmpeg.binary", "must not be empty"));
  EXPECT_TRUE(validate_with({{"ffmpeg", {{"binary", "sh"}}}}).empty());
  EXPECT_TRUE(has_error(validate_with({{"db", {{"dir", ""}}}}), "db.dir", "must not be empty"));
  EXPECT_TRUE(has_error(validate_with({{"rtmp", {{"app", "live"}}}}), "rtmp.app", "not an absolute path"));
  EXPECT_TRUE(has_error(validate_with({{"router", {{"ui_path", "/nonexistent/ui"}}}}), "router.ui_path", "does not exist"));
  TempDir dir;
  EXPECT_TRUE(validate_with({{"router", {{"ui_path", dir.path()}}}}).empty());
  EXPECT_TRUE(has_error(validate_with({{"created_at", "yesterday"}}), "created_at", "RFC 3339"));
  EXPECT_TRUE(validate_with({{"created_at", "0001-01-01T00:00:00Z"}}).empty());
}

TEST(ConfigValidate, Rtmp) {
  auto errors = validate_with({{"rtmp", {{"enable_tls", true}}}});
  EXPECT_TRUE(has_error(errors, "rtmp.enable", "must be true when rtmp.enable_tls"));
  EXPECT_TRUE(has_error(errors, "rtmp.enable_tls", "tls.enable"));
  TempDir dir;
  std::ofstream(dir / "c.pem") << "x";
  errors = validate_with({{"rtmp", {{"enable", true}, {"enable_tls", true}, {"address", ":1935"}, {"address_tls", "1935"}}},
                          {"tls", {{"enable", true}, {"cert_file", dir / "c.pem"}, {"key_file", dir / "c.pem"}}}});
  ASSERT_EQ(errors.size(), 1u) << errors_to_string(errors);
  EXPECT_TRUE(has_error(errors, "rtmp.address_tls", "conflicts with rtmp.address"));
  EXPECT_TRUE(has_error(validate_with({{"srt", {{"passphrase", "short"}}}}), "srt.passphrase", "10 to 79"));
}

TEST(ConfigValidate, PlayoutMetricsSessionsService) {
  EXPECT_TRUE(has_error(validate_with({{"playout", {{"enable", true}}}}), "playout.min_port", "less than playout.max_port"));
  EXPECT_TRUE(validate_with({{"playout", {{"enable", true}, {"min_port", 30000}, {"max_port", 30010}}}}).empty());
  EXPECT_TRUE(has_error(validate_with({{"playout", {{"max_port", 70000}}}}), "playout.max_port", "0..65535"));

  auto errors = validate_with({{"metrics", {{"enable", true}, {"range_sec", 10}, {"interval_sec", 20}}}});
  EXPECT_TRUE(has_error(errors, "metrics.interval_seconds", "must not be greater than metrics.range_seconds"));
  errors = validate_with({{"metrics", {{"enable", true}, {"range_sec", 0}, {"interval_sec", 0}}}});
  EXPECT_TRUE(has_error(errors, "metrics.range_seconds", "greater than 0"));
  EXPECT_TRUE(has_error(errors, "metrics.interval_seconds", "greater than 0"));
  EXPECT_TRUE(validate_with({{"metrics", {{"enable", false}, {"range_sec", 0}, {"interval_sec", 0}}}}).empty());

  EXPECT_TRUE(has_error(validate_with({{"sessions", {{"session_timeout_sec", 0}}}}), "sessions.session_timeout_sec",
                        "at least 1"));
  EXPECT_TRUE(validate_with({{"sessions", {{"enable", false}, {"session_timeout_sec", 0}}}}).empty());
  EXPECT_TRUE(has_error(validate_with({{"service", {{"enable", true}}}}), "service.token", "must not be empty"));
  EXPECT_TRUE(has_error(validate_with({{"service", {{"url", "nope"}}}}), "service.url", "not a valid URL"));
  EXPECT_TRUE(has_error(validate_with({{"storage", {{"disk", {{"cache", {{"ttl_seconds", -1}}}}}}}}),
                        "storage.disk.cache.ttl_seconds", "at least 0"));
}

TEST(ConfigValidate, MemfsAuth) {
  auto errors = validate_with({{"storage", {{"memory", {{"auth", {{"username", ""}, {"password", ""}}}}}}}});
  EXPECT_TRUE(has_error(errors, "storage.memory.auth.username", "must not be empty"));
  EXPECT_TRUE(has_error(errors, "storage.memory.auth.password", "must not be empty"));
}

TEST(ConfigValidate, S3) {
  const auto s3 = [](const char* text) { return validate_with({{"storage", {{"s3", Json::parse(text)}}}}); };
  EXPECT_TRUE(s3(R"([{"name":"media","mountpoint":"/media"},{"name":"b-2_x","mountpoint":"/b"}])").empty());
  EXPECT_TRUE(has_error(s3(R"([{"mountpoint":"/m"}])"), "storage.s3", "name is missing"));
  EXPECT_TRUE(has_error(s3(R"([{"name":"a b","mountpoint":"/m"}])"), "storage.s3", "[A-Za-z0-9_-]+"));
  EXPECT_TRUE(has_error(s3(R"([{"name":"disk","mountpoint":"/m"}])"), "storage.s3", "reserved"));
  EXPECT_TRUE(has_error(s3(R"([{"name":"mem","mountpoint":"/m"}])"), "storage.s3", "reserved"));
  EXPECT_TRUE(has_error(s3(R"([{"name":"a","mountpoint":"/a"},{"name":"a","mountpoint":"/b"}])"), "storage.s3", "in use"));
  EXPECT_TRUE(has_error(s3(R"([{"name":"a"}])"), "storage.s3", "mountpoint is missing"));
  EXPECT_TRUE(has_error(s3(R"([{"name":"a","mountpoint":"rel"}])"), "storage.s3", "absolute"));
  for (const char* m : {"/", "/memfs", "/api", "/api/v3", "/ui", "/ui/x"}) {
    EXPECT_TRUE(has_error(s3((std::string(R"([{"name":"a","mountpoint":")") + m + "\"}]").c_str()), "storage.s3", "reserved"))
        << m;
  }
  EXPECT_TRUE(has_error(s3(R"([{"name":"a","mountpoint":"/a"},{"name":"b","mountpoint":"/a"}])"), "storage.s3", "twice"));
  EXPECT_TRUE(has_error(s3(R"([{"name":"a","mountpoint":"/a","auth":{"enable":true}}])"), "storage.s3", "auth is enabled"));
  EXPECT_TRUE(has_error(s3(R"([{"name":"a","mountpoint":"/a","secret_access_key":"********"}])"), "storage.s3",
                        "redaction marker"));
}

TEST(ConfigValidate, Webrtc) {
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"rtp_port_min", 20001}}}}), "webrtc.rtp_port_min", "even"));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"rtp_port_min", 30000}, {"rtp_port_max", 30000}}}}),
                        "webrtc.rtp_port_max", "greater than webrtc.rtp_port_min"));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"rtp_port_min", 1000}}}}), "webrtc.rtp_port_min", "1024..65535"));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"rtp_port_max", 70000}}}}), "webrtc.rtp_port_max", "1024..65535"));
  EXPECT_TRUE(validate_with({{"webrtc", {{"rtp_port_min", 40000}, {"rtp_port_max", 40001}}}}).empty());
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"ice_timeout_seconds", 0}}}}), "webrtc.ice_timeout_seconds", "1..300"));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"ice_timeout_seconds", 301}}}}), "webrtc.ice_timeout_seconds"));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"public_ips", {"1.2.3.4", "host.example"}}}}}), "webrtc.public_ips",
                        "invalid IP address \"host.example\""));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"renditions", {{"codecs", {"vp8", "av1"}}}}}}}),
                        "webrtc.renditions.codecs", "unknown codec \"av1\""));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"ice_servers", Json::parse(R"([{"urls":["http://x"]}])")}}}}),
                        "webrtc.ice_servers", "must start with stun:, stuns:, turn: or turns:"));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"ice_servers", Json::parse(R"([{"urls":[]}])")}}}}),
                        "webrtc.ice_servers", "must not be empty"));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"ice_servers", Json::parse(R"([{"urls":"turn:t.example"}])")}}}}),
                        "webrtc.ice_servers", "needs username and credential"));
  EXPECT_TRUE(validate_with({{"webrtc", {{"ice_servers", Json::parse(R"([{"urls":["stun:s.example:3478"]},
      {"urls":["turns:t.example:443?transport=tcp"],"username":"u","credential":"c"}])")}}}})
                  .empty());
}

TEST(ConfigValidate, ListenerConflicts) {
  // UDP and TCP on the same port number is fine.
  EXPECT_TRUE(validate_with({{"webrtc", {{"tcp", {{"enable", true}, {"address", ":9000"}}}, {"address", ":9000"}}}}).empty());
  auto errors = validate_with({{"webrtc", {{"tcp", {{"enable", true}, {"address", ":8080"}}}}}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(has_error(errors, "webrtc.tcp.address", "conflicts with address: both listen on TCP port 8080"));
  // Disabled listeners do not conflict.
  EXPECT_TRUE(validate_with({{"webrtc", {{"tcp", {{"enable", false}, {"address", ":8080"}}}}}}).empty());
  EXPECT_TRUE(validate_with({{"webrtc", {{"enable", false}, {"tcp", {{"enable", true}, {"address", ":8080"}}}}}}).empty());
  // Different hosts on the same port are fine; a wildcard host covers all.
  EXPECT_TRUE(validate_with({{"address", "127.0.0.1:9000"}, {"rtmp", {{"enable", true}, {"address", "127.0.0.2:9000"}}}}).empty());
  EXPECT_TRUE(has_error(validate_with({{"address", "127.0.0.1:9000"}, {"rtmp", {{"enable", true}, {"address", ":9000"}}}}),
                        "rtmp.address", "conflicts with address"));
  EXPECT_TRUE(has_error(validate_with({{"srt", {{"enable", true}, {"address", ":8555"}}}}), "webrtc.address",
                        "conflicts with srt.address: both listen on UDP port 8555"));
  EXPECT_TRUE(has_error(validate_with({{"webrtc", {{"address", ":20010"}}}}), "webrtc.address", "inside webrtc.rtp_port_min"));
}

TEST(ConfigValidate, ErrorsToJsonAndString) {
  const Errors errors = {{"a", "one"}, {"b", "two"}, {"a", "three"}, {"", "doc"}};
  EXPECT_EQ(errors_to_json(errors), Json::parse(R"({"a":["one","three"],"b":["two"],"":["doc"]})"));
  EXPECT_EQ(errors_to_string(errors), "a: one; b: two; a: three; doc");
  EXPECT_EQ(errors_to_json({}), Json::object());
}

}  // namespace
}  // namespace dragon::config

namespace dragon::config {
namespace {

TEST(ConfigValidate, AllProblemsAreReportedAtOnce) {
  auto c = testing::valid_config();
  ASSERT_TRUE(c.overlay(Json::parse(R"({"log":{"level":"loud"},"tls":{"enable":true},"webrtc":{"rtp_port_min":20001}})")).empty());
  const auto errors = c.validate();
  EXPECT_TRUE(testing::has_error(errors, "log.level"));
  EXPECT_TRUE(testing::has_error(errors, "tls.cert_file"));
  EXPECT_TRUE(testing::has_error(errors, "webrtc.rtp_port_min"));
  c.set("host.name", nullptr);
  c.set("tls.auto", true);
  EXPECT_TRUE(testing::has_error(c.validate(), "host.name", "a host name must be set"));
}

}  // namespace
}  // namespace dragon::config
