// Redaction for GET /api/v3/config and the PUT round trip that must not wipe secrets.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config_test_helpers.hpp"

namespace dragon::config {
namespace {

using testing::valid_config;

Config with_secrets() {
  auto c = valid_config();
  c.set("service.token", "svc-token");
  c.set("rtmp.token", "rtmp-token");
  c.set("srt.token", "srt-token");
  c.set("srt.passphrase", "srt-passphrase-1");
  c.set("webrtc.token", "viewer-token");
  c.set("storage.s3", Json::parse(R"([
    {"name":"a","mountpoint":"/a","auth":{"enable":true,"username":"u","password":"a-pass"},"endpoint":"e",
     "access_key_id":"AK","secret_access_key":"a-secret","bucket":"b","region":"r","use_ssl":true},
    {"name":"b","mountpoint":"/b","auth":{"enable":false,"username":"","password":""},"endpoint":"e",
     "access_key_id":"AK2","secret_access_key":"b-secret","bucket":"b","region":"r","use_ssl":false}])"));
  return c;
}

TEST(ConfigRedact, SecretsAreMarkedOthersVisible) {
  const auto c = with_secrets();
  const auto r = c.to_json_redacted();
  EXPECT_EQ(r["api"]["auth"]["password"], k_redacted);
  EXPECT_EQ(r["api"]["auth"]["jwt"]["secret"], k_redacted);
  EXPECT_EQ(r["storage"]["memory"]["auth"]["password"], k_redacted);
  EXPECT_EQ(r["service"]["token"], k_redacted);
  EXPECT_EQ(r["storage"]["s3"][0]["secret_access_key"], k_redacted);
  EXPECT_EQ(r["storage"]["s3"][0]["auth"]["password"], k_redacted);
  EXPECT_EQ(r["storage"]["s3"][1]["auth"]["password"], "");  // empty stays empty
  EXPECT_EQ(r["storage"]["s3"][0]["access_key_id"], "AK");
  EXPECT_EQ(r["rtmp"]["token"], "rtmp-token");
  EXPECT_EQ(r["srt"]["token"], "srt-token");
  EXPECT_EQ(r["srt"]["passphrase"], "srt-passphrase-1");
  EXPECT_EQ(r["webrtc"]["token"], "viewer-token");
  EXPECT_EQ(r["api"]["auth"]["username"], "admin");
  // Nothing else differs.
  Json expected = c.to_json();
  expected["api"]["auth"]["password"] = k_redacted;
  expected["api"]["auth"]["jwt"]["secret"] = k_redacted;
  expected["storage"]["memory"]["auth"]["password"] = k_redacted;
  expected["service"]["token"] = k_redacted;
  expected["storage"]["s3"][0]["secret_access_key"] = k_redacted;
  expected["storage"]["s3"][0]["auth"]["password"] = k_redacted;
  expected["storage"]["s3"][1]["secret_access_key"] = k_redacted;
  EXPECT_EQ(r, expected);
  // The original is untouched.
  EXPECT_EQ(c.get_string("api.auth.password"), "test-password-1");
}

TEST(ConfigRedact, EmptySecretsStayEmpty) {
  auto c = Config::defaults();
  c.set("api.auth.jwt.secret", "");
  const auto r = c.to_json_redacted();
  EXPECT_EQ(r["api"]["auth"]["password"], "");
  EXPECT_EQ(r["api"]["auth"]["jwt"]["secret"], "");
}

TEST(ConfigRedact, RoundTripKeepsSecrets) {
  const auto c = with_secrets();
  Json doc = c.to_json_redacted();
  doc["log"]["level"] = "debug";
  // The client reordered the S3 list and added one with a marker it cannot know.
  std::swap(doc["storage"]["s3"][0], doc["storage"]["s3"][1]);
  doc["storage"]["s3"].push_back(Json::parse(R"({"name":"new","mountpoint":"/n","secret_access_key":"********"})"));
  c.unredact(doc);
  EXPECT_EQ(doc["api"]["auth"]["password"], "test-password-1");
  EXPECT_EQ(doc["api"]["auth"]["jwt"]["secret"], c.get_string("api.auth.jwt.secret"));
  EXPECT_EQ(doc["storage"]["memory"]["auth"]["password"], c.get_string("storage.memory.auth.password"));
  EXPECT_EQ(doc["service"]["token"], "svc-token");
  EXPECT_EQ(doc["storage"]["s3"][0]["secret_access_key"], "b-secret");
  EXPECT_EQ(doc["storage"]["s3"][1]["secret_access_key"], "a-secret");
  EXPECT_EQ(doc["storage"]["s3"][1]["auth"]["password"], "a-pass");
  EXPECT_EQ(doc["storage"]["s3"][2]["secret_access_key"], k_redacted);  // unknown: stays, validation refuses it

  auto d = c;
  ASSERT_TRUE(d.overlay(doc).empty());
  EXPECT_EQ(d.get_string("api.auth.password"), "test-password-1");
  EXPECT_EQ(d.get_string("log.level"), "debug");
  EXPECT_TRUE(testing::has_error(d.validate(), "storage.s3", "redaction marker"));
}

TEST(ConfigRedact, NewValuesReplaceSecrets) {
  const auto c = with_secrets();
  Json doc = {{"api", {{"auth", {{"password", "new-password"}}}}}};
  c.unredact(doc);
  EXPECT_EQ(doc["api"]["auth"]["password"], "new-password");
}

TEST(ConfigRedact, UnredactToleratesJunk) {
  const auto c = with_secrets();
  for (const char* text : {R"([])", R"({"api":5})", R"({"api":{"auth":{"password":5}}})", R"({"storage":{"s3":{"x":1}}})",
                           R"({"storage":{"s3":[1,"x",{"name":5,"secret_access_key":"********"}]}})"}) {
    Json doc = Json::parse(text);
    const Json before = doc;
    c.unredact(doc);
    EXPECT_EQ(doc, before) << text;
  }
}

}  // namespace
}  // namespace dragon::config
