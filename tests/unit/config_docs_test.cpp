// docs/config.md is generated from the key table; this test fails when it is stale.
// Regenerate with: DRAGON_UPDATE_CONFIG_DOC=1 ./unit_config --gtest_filter='ConfigDocs.*'
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace dragon::config {
namespace {

TEST(ConfigDocs, CommittedReferenceIsCurrent) {
  const std::string path = DRAGON_SOURCE_DIR "/docs/config.md";
  const auto expected = markdown_reference();
  if (std::getenv("DRAGON_UPDATE_CONFIG_DOC")) std::ofstream(path) << expected;
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing; regenerate it (see this test's header)";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), expected) << path << " is stale; regenerate it (see this test's header)";
}

TEST(ConfigDocs, EveryKeyIsDocumentedDeterministically) {
  const auto doc = markdown_reference();
  EXPECT_EQ(doc, markdown_reference());
  for (const auto& k : keys()) {
    EXPECT_NE(doc.find("| `" + k.json_path + "`"), std::string::npos) << k.json_path;
    for (const auto& e : k.env) EXPECT_NE(doc.find("`" + e + "`"), std::string::npos) << e;
  }
  EXPECT_NE(doc.find("random UUID"), std::string::npos);
  EXPECT_NE(doc.find("## `webrtc`"), std::string::npos);
  EXPECT_NE(doc.find("(deprecated: `RS_USERNAME`)"), std::string::npos);
}

}  // namespace
}  // namespace dragon::config
