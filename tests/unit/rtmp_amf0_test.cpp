#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "rtmp/amf0.hpp"

namespace dragon::rtmp::amf0 {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(RtmpAmf0, EncodesTheConnectCommandByteForByte) {
  const auto b = encode_all({Value::str("connect"), Value::num(1), Value::object({{"app", Value::str("live")}})});
  const Bytes expected = {0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e', 'c', 't',  // string
                          0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0,                    // 1.0
                          0x03, 0x00, 0x03, 'a', 'p', 'p', 0x02, 0x00, 0x04, 'l', 'i', 'v', 'e',
                          0x00, 0x00, 0x09};
  EXPECT_EQ(b, expected);
}

TEST(RtmpAmf0, RoundTripsEveryType) {
  std::vector<Value> values = {
      Value::num(3.25),
      Value::num(-0.0),
      Value::num(1e300),
      Value::boolean_of(true),
      Value::boolean_of(false),
      Value::str(""),
      Value::str("héllo"),
      Value::str(std::string(70000, 'x')),  // becomes a long string
      Value::null(),
      Value::undefined(),
      Value::object({{"a", Value::num(1)}, {"nested", Value::object({{"b", Value::str("c")}})}}),
      Value::ecma_array({{"duration", Value::num(0)}, {"width", Value::num(640)}, {"", Value::null()}}),
      Value::strict_array({Value::num(1), Value::str("two"), Value::strict_array({})}),
      Value::date(1.7e12, -60),
  };
  const auto bytes = encode_all(values);
  std::string error;
  const auto back = decode_all(bytes, &error);
  ASSERT_TRUE(back) << error;
  ASSERT_EQ(back->size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ((*back)[i], values[i]) << i;
  EXPECT_EQ((*back)[7].type, Type::LongString);
  EXPECT_EQ((*back)[10].get("nested")->get("b")->string, "c");
  EXPECT_EQ((*back)[11].get("width")->number, 640);
  EXPECT_EQ(encode_all(*back), bytes);
}

TEST(RtmpAmf0, DecodesNaNAndXmlAndUnsupportedMarkers) {
  Bytes b = {0x00, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0,   // NaN
             0x0F, 0, 0, 0, 2, '<', '>',            // XML document (long string form)
             0x0D};                                 // "unsupported" marker
  const auto v = decode_all(b);
  ASSERT_TRUE(v);
  EXPECT_TRUE(std::isnan((*v)[0].number));
  EXPECT_EQ((*v)[1].string, "<>");
  EXPECT_EQ((*v)[2].type, Type::Undefined);
}

TEST(RtmpAmf0, MalformedInputIsRejectedWithAReason) {
  const std::vector<Bytes> bad = {
      {0x00, 0x01},                          // truncated number
      {0x02, 0x00, 0x05, 'a'},               // string runs past the end
      {0x0C, 0xFF, 0xFF, 0xFF, 0xFF},        // long string of 4 GiB
      {0x03, 0x00, 0x01, 'a'},               // object member without a value
      {0x03, 0x00, 0x01, 'a', 0x00},         // truncated member value
      {0x0A, 0x7F, 0xFF, 0xFF, 0xFF, 0x05},  // strict array claiming 2^31 items
      {0x09},                                // object end outside an object
      {0x07, 0x00, 0x01},                    // reference: unsupported
      {0x11, 0x01},                          // AMF3 switch: unsupported
      {0x10, 0x00},                          // typed object: unsupported
      {0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0},     // truncated date
  };
  for (const auto& b : bad) {
    std::string error;
    EXPECT_FALSE(decode_all(b, &error)) << ::testing::PrintToString(b);
    EXPECT_FALSE(error.empty());
  }
}

TEST(RtmpAmf0, NestingAndValueCountAreBounded) {
  Bytes deep;
  for (int i = 0; i < 1000; ++i) deep.push_back(0x0A), deep.insert(deep.end(), {0, 0, 0, 1});
  deep.push_back(0x05);
  std::string error;
  EXPECT_FALSE(decode_all(deep, &error));
  EXPECT_NE(error.find("nesting"), std::string::npos) << error;

  Bytes many = {0x0A, 0x00, 0x01, 0x00, 0x00};  // 65536 nulls: within bounds
  many.insert(many.end(), 65536, 0x05);
  EXPECT_TRUE(decode_all(many));
  EXPECT_FALSE(decode_all(many, &error, Limits{.max_values = 1000}));
  EXPECT_NE(error.find("values"), std::string::npos) << error;
}

TEST(RtmpAmf0, RandomBytesNeverCrash) {
  std::mt19937 rng(99);
  std::size_t decoded = 0;
  for (int i = 0; i < 5000; ++i) {
    Bytes junk(rng() % 64);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng() % 16);  // mostly valid markers
    if (decode_all(junk)) ++decoded;
  }
  EXPECT_GT(decoded, 0u);  // some junk is valid AMF0, most is not; none crashes
}

TEST(RtmpAmf0, ValueHelpers) {
  Value o = Value::object();
  o.set("a", Value::num(1));
  o.set("a", Value::num(2));
  EXPECT_EQ(o.properties.size(), 1u);
  EXPECT_EQ(o.get("a")->number, 2);
  EXPECT_EQ(o.get("missing"), nullptr);
  EXPECT_TRUE(o.is_object());
  EXPECT_FALSE(Value::null().is_object());
}

}  // namespace
}  // namespace dragon::rtmp::amf0
