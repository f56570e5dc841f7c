// Overlaying documents: strict types, partial updates, atomicity, version migration, hostile input.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config_test_helpers.hpp"

namespace dragon::config {
namespace {

using testing::has_error;

TEST(ConfigOverlay, PartialOverlayChangesOnlyGivenKeys) {
  auto c = Config::defaults();
  Json expected = c.to_json();
  const auto errors = c.overlay(Json::parse(R"({"version":3,"log":{"level":"debug"},"rtmp":{"enable":true},
                                               "webrtc":{"renditions":{"max":2}}})"));
  ASSERT_TRUE(errors.empty()) << errors_to_string(errors);
  expected["log"]["level"] = "debug";
  expected["rtmp"]["enable"] = true;
  expected["webrtc"]["renditions"]["max"] = 2;
  EXPECT_EQ(c.to_json(), expected);
}

TEST(ConfigOverlay, VersionIsOptionalButMustBeKnown) {
  auto c = Config::defaults();
  EXPECT_TRUE(c.overlay(Json::parse(R"({"name":"x"})")).empty());
  EXPECT_EQ(c.get_string("name"), "x");
  for (const char* bad : {R"({"version":4})", R"({"version":0})", R"({"version":"3"})", R"({"version":3.5})",
                          R"({"version":-1})", R"({"version":18446744073709551615})"}) {
    const auto before = c.to_json();
    const auto errors = c.overlay(Json::parse(bad));
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].var, "version");
    EXPECT_NE(errors[0].message.find("Invalid config version"), std::string::npos);
    EXPECT_EQ(c.to_json(), before);
  }
}

TEST(ConfigOverlay, TypeErrorsNameVarExpectedAndGot) {
  auto c = Config::defaults();
  const auto before = c.to_json();
  const auto errors = c.overlay(Json::parse(R"({
      "address": ":9999",
      "api": {"auth": {"enable": "yes"}},
      "log": {"max_lines": 1.5, "topics": ["a", 1]},
      "metrics": {"range_sec": "300"},
      "sessions": {"max_sessions": -1},
      "storage": {"disk": {"cache": {"types": {"allow": "x"}}}},
      "router": {"routes": {"/a": 1}}
  })"));
  EXPECT_EQ(c.to_json(), before);  // atomic: the valid address was not applied either
  EXPECT_TRUE(has_error(errors, "api.auth.enable", "expected a boolean, got \"yes\"")) << errors_to_string(errors);
  EXPECT_TRUE(has_error(errors, "log.max_lines", "expected an integer, got 1.5"));
  EXPECT_TRUE(has_error(errors, "log.topics", "expected an array of strings"));
  EXPECT_TRUE(has_error(errors, "metrics.range_seconds", "expected an integer, got \"300\""));
  EXPECT_TRUE(has_error(errors, "sessions.max_sessions", "expected a non-negative integer, got -1"));
  EXPECT_TRUE(has_error(errors, "storage.disk.cache.type.allow", "expected an array of strings, got \"x\""));
  EXPECT_TRUE(has_error(errors, "router.routes", "expected an object of strings"));
  EXPECT_EQ(errors.size(), 7u);
}

TEST(ConfigOverlay, SecretValuesAreNotEchoedInTypeErrors) {
  auto c = Config::defaults();
  const auto errors = c.overlay(Json::parse(R"({"api":{"auth":{"password":123456789}}})"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "expected a string, got a number");
}

TEST(ConfigOverlay, IntermediateOfWrongTypeIsReportedOnce) {
  auto c = Config::defaults();
  const auto errors = c.overlay(Json::parse(R"({"log": 5, "api": {"auth": []}})"));
  ASSERT_EQ(errors.size(), 2u) << errors_to_string(errors);
  EXPECT_TRUE(has_error(errors, "log", "expected an object, got 5"));
  EXPECT_TRUE(has_error(errors, "api.auth", "expected an object, got an array"));
}

TEST(ConfigOverlay, NullFollowsGoDecoding) {
  auto c = Config::defaults();
  const auto errors = c.overlay(Json::parse(R"({"log":{"level":null,"topics":null},"router":{"routes":null},
                                               "storage":{"s3":null},"tls":null})"));
  ASSERT_TRUE(errors.empty()) << errors_to_string(errors);
  EXPECT_EQ(c.get_string("log.level"), "info");
  EXPECT_EQ(c.get("log.topics"), Json::array());
  EXPECT_EQ(c.get("router.routes"), Json::object());
  EXPECT_EQ(c.get("storage.s3"), Json::array());
}

TEST(ConfigOverlay, UnknownKeysAreIgnoredAndAddressNormalised) {
  auto c = Config::defaults();
  const auto errors = c.overlay(Json::parse(R"({"address":"8081","cluster":{"enable":true},"log":{"colour":1},
                                               "rtmp":{"address_tls":"1937"}})"));
  ASSERT_TRUE(errors.empty()) << errors_to_string(errors);
  EXPECT_EQ(c.get_string("address"), ":8081");
  EXPECT_EQ(c.get_string("rtmp.address_tls"), ":1937");
  EXPECT_FALSE(c.to_json().contains("cluster"));
  EXPECT_FALSE(c.to_json()["log"].contains("colour"));
}

TEST(ConfigOverlay, JsonValuesAreShapeChecked) {
  auto c = Config::defaults();
  auto errors = c.overlay(Json::parse(R"({"storage":{"s3":[{"name":"a","use_ssl":"yes"}]}})"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].var, "storage.s3");
  EXPECT_NE(errors[0].message.find("[0].use_ssl: expected a boolean"), std::string::npos) << errors[0].message;

  errors = c.overlay(Json::parse(R"({"storage":{"s3":{"name":"a"}}})"));
  EXPECT_TRUE(has_error(errors, "storage.s3", "expected an array"));
  errors = c.overlay(Json::parse(R"({"webrtc":{"ice_servers":[{"urls":[1]}]}})"));
  EXPECT_TRUE(has_error(errors, "webrtc.ice_servers", "urls"));

  errors = c.overlay(Json::parse(R"({"storage":{"s3":[{"name":"a","mountpoint":"/a","extra":{"deep":[1]}}]}})"));
  ASSERT_TRUE(errors.empty()) << errors_to_string(errors);
  EXPECT_FALSE(c.get("storage.s3")[0].contains("extra"));
  EXPECT_EQ(c.get("storage.s3")[0]["auth"], (Json{{"enable", false}, {"username", ""}, {"password", ""}}));
}

// ---------------------------------------------------------------------------------------------------
// Migration

TEST(ConfigMigrate, V2CacheTypesBecomeTypesAllow) {
  auto c = Config::defaults();
  const auto errors = c.overlay(Json::parse(R"({
      "version": 2,
      "storage": {"disk": {"cache": {"types": [".ts", ".mp4"], "ttl_seconds": 60}}},
      "tls": {"email": "ignored@example.com"},
      "debug": {"memory_limit_mbytes": 99}
  })"));
  ASSERT_TRUE(errors.empty()) << errors_to_string(errors);
  EXPECT_EQ(c.get_int("version"), 3);
  EXPECT_EQ(c.get_strings("storage.disk.cache.types.allow"), (std::vector<std::string>{".ts", ".mp4"}));
  EXPECT_EQ(c.get_strings("storage.disk.cache.types.block"), (std::vector<std::string>{".m3u8", ".mpd"}));
  EXPECT_EQ(c.get_int("storage.disk.cache.ttl_seconds"), 60);
  EXPECT_EQ(c.get_string("tls.email"), "cert@datarhei.com");  // v2 has no tls.email
  EXPECT_EQ(c.get_int("debug.memory_limit_mbytes"), 0);
}

TEST(ConfigMigrate, V2TypesMustBeAList) {
  auto c = Config::defaults();
  const auto errors = c.overlay(Json::parse(R"({"version":2,"storage":{"disk":{"cache":{"types":{"allow":[]}}}}})"));
  EXPECT_TRUE(has_error(errors, "storage.disk.cache.type.allow", "expected an array of strings"));
}

TEST(ConfigMigrate, V3RejectsFlatTypes) {
  auto c = Config::defaults();
  const auto errors = c.overlay(Json::parse(R"({"version":3,"storage":{"disk":{"cache":{"types":[".ts"]}}}})"));
  EXPECT_TRUE(has_error(errors, "storage.disk.cache.types", "expected an object"));
}

TEST(ConfigMigrate, V1RtmpsMovesToAddressTls) {
  auto c = Config::defaults();
  const auto errors = c.overlay(Json::parse(R"({"version":1,"rtmp":{"enable":false,"enable_tls":true,
                                               "address":"1935","address_tls":":5555","app":"live"}})"));
  ASSERT_TRUE(errors.empty()) << errors_to_string(errors);
  EXPECT_TRUE(c.get_bool("rtmp.enable"));
  EXPECT_TRUE(c.get_bool("rtmp.enable_tls"));
  EXPECT_EQ(c.get_string("rtmp.address_tls"), ":1935");
  EXPECT_EQ(c.get_string("rtmp.address"), ":1934");
  EXPECT_EQ(c.get_string("rtmp.app"), "/live");
}

TEST(ConfigMigrate, V1WithoutTlsKeepsRtmp) {
  auto c = Config::defaults();
  ASSERT_TRUE(c.overlay(Json::parse(R"({"version":1,"rtmp":{"enable":true,"address":"127.0.0.1:1940"}})")).empty());
  EXPECT_EQ(c.get_string("rtmp.address"), "127.0.0.1:1940");
  EXPECT_EQ(c.get_string("rtmp.address_tls"), ":1936");
  EXPECT_FALSE(c.get_bool("rtmp.enable_tls"));
}

TEST(ConfigMigrate, V1BadAddressIsAnError) {
  auto c = Config::defaults();
  const auto before = c.to_json();
  const auto errors = c.overlay(Json::parse(R"({"version":1,"rtmp":{"enable_tls":true,"address":"nowhere"}})"));
  EXPECT_TRUE(has_error(errors, "rtmp.address", "migrating"));
  EXPECT_EQ(c.to_json(), before);
}

// ---------------------------------------------------------------------------------------------------
// Hostile input

TEST(ConfigHostile, NotAnObject) {
  for (const char* doc : {"[]", "null", "5", "\"x\"", "true"}) {
    auto c = Config::defaults();
    const auto errors = c.overlay(Json::parse(doc));
    ASSERT_EQ(errors.size(), 1u) << doc;
    EXPECT_EQ(errors[0].var, "");
  }
}

TEST(ConfigHostile, DeeplyNestedJunk) {
  for (const char* where : {"junk", "storage"}) {
    std::string text = std::string("{\"") + where + "\":";
    const int depth = 100000;
    text += std::string(depth, '[') + std::string(depth, ']') + "}";
    const auto doc = Json::parse(text);  // nlohmann parses iteratively
    auto c = Config::defaults();
    const auto before = c.to_json();
    const auto errors = c.overlay(doc);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].message.find("nested too deeply"), std::string::npos);
    EXPECT_EQ(c.to_json(), before);
    Json mutable_doc = Json::parse(text);
    const auto secrets_before = c.to_json();
    c.unredact(mutable_doc);  // refuses the depth instead of walking it
    EXPECT_EQ(c.to_json(), secrets_before);
  }
}

TEST(ConfigHostile, ModeratelyNestedValueInJsonKey) {
  auto c = Config::defaults();
  std::string text = R"({"storage":{"s3":)" + std::string(20, '[') + std::string(20, ']') + "}}";
  const auto errors = c.overlay(Json::parse(text));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].var, "storage.s3");
}

TEST(ConfigHostile, HugeNumbers) {
  auto c = Config::defaults();
  const auto errors = c.overlay(Json::parse(R"({"log":{"max_lines":18446744073709551615},
      "sessions":{"max_sessions":1e30,"session_timeout_sec":-99999999999999999999},
      "webrtc":{"max_viewers":18446744073709551616}})"));
  EXPECT_TRUE(has_error(errors, "log.max_lines", "out of range")) << errors_to_string(errors);
  EXPECT_TRUE(has_error(errors, "sessions.max_sessions", "expected a non-negative integer"));
  EXPECT_TRUE(has_error(errors, "sessions.session_timeout_sec", "expected an integer"));
  EXPECT_TRUE(has_error(errors, "webrtc.max_viewers", "expected a non-negative integer"));

  // In range but absurd: accepted by type, refused by validation.
  auto d = testing::valid_config();
  ASSERT_TRUE(d.overlay(Json::parse(R"({"webrtc":{"ice_timeout_seconds":18446744073709551615}})")).empty());
  EXPECT_TRUE(has_error(d.validate(), "webrtc.ice_timeout_seconds", "must be 1..300"));
}

Json wrong_value_for(Type t) {
  switch (t) {
    case Type::Bool: return "true";
    case Type::Int:
    case Type::Uint:
    case Type::Float: return "1";
    case Type::StringList: return Json::object();
    case Type::StringMap: return Json::array();
    case Type::JsonValue: return "x";
    default: return Json::array({Json::object()});  // string-valued types
  }
}

TEST(ConfigHostile, WrongTypeForEveryKey) {
  for (const auto& k : keys()) {
    if (k.json_path == "version") continue;
    Json doc = Json::object();
    Json* cur = &doc;
    std::string path = k.json_path;
    for (std::size_t pos; (pos = path.find('.')) != std::string::npos; path = path.substr(pos + 1)) {
      cur = &(*cur)[path.substr(0, pos)];
    }
    (*cur)[path] = wrong_value_for(k.type);
    auto c = Config::defaults();
    const auto before = c.to_json();
    const auto errors = c.overlay(doc);
    ASSERT_EQ(errors.size(), 1u) << k.json_path << ": " << errors_to_string(errors);
    EXPECT_EQ(errors[0].var, k.var_name);
    EXPECT_EQ(errors[0].message.rfind("expected ", 0), 0u) << errors[0].message;
    EXPECT_EQ(c.to_json(), before);
  }
}

TEST(ConfigHostile, HugeStringsAreCutInMessages) {
  auto c = testing::valid_config();
  c.set("log.level", std::string(1 << 20, 'x'));
  const auto errors = c.validate();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].var, "log.level");
  EXPECT_NE(errors[0].message.find("must be one of silent, error, warn, info, debug"), std::string::npos);
  EXPECT_LT(errors[0].message.size(), 200u);

  auto d = Config::defaults();
  const auto type_errors = d.overlay(Json{{"log", {{"max_lines", std::string(1 << 20, 'y')}}}});
  ASSERT_EQ(type_errors.size(), 1u);
  EXPECT_LT(type_errors[0].message.size(), 200u);
}

TEST(ConfigHostile, SetWithGarbageIsCaughtByValidate) {
  auto c = testing::valid_config();
  c.set("storage.s3", Json::array({5}));
  c.set("rtmp.enable", "yes");
  c.set("log.topics", nullptr);
  const auto errors = c.validate();
  EXPECT_TRUE(has_error(errors, "storage.s3"));
  EXPECT_TRUE(has_error(errors, "rtmp.enable", "expected a boolean"));
  EXPECT_FALSE(has_error(errors, "log.topics"));  // null list counts as empty
}

}  // namespace
}  // namespace dragon::config
