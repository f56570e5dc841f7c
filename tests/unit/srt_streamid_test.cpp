#include "srt/streamid.hpp"

#include <string>

#include <gtest/gtest.h>

namespace dragon::srt {
namespace {

StreamId ok(std::string_view s) {
  auto r = parse_stream_id(s);
  EXPECT_TRUE(r.ok()) << "'" << s << "': " << r.error;
  return r.id;
}

std::string err(std::string_view s) {
  auto r = parse_stream_id(s);
  EXPECT_FALSE(r.ok()) << "'" << s << "' parsed as resource '" << r.id.resource << "'";
  return r.error;
}

TEST(SrtStreamId, ResourceOnlyIsARequest) {
  auto id = ok("live");
  EXPECT_EQ(id.resource, "live");
  EXPECT_EQ(id.mode, Mode::Request);
  EXPECT_EQ(id.token, "");
  EXPECT_FALSE(id.legacy);
}

TEST(SrtStreamId, ShortSyntaxKeysInAnyOrder) {
  auto a = ok("abc,mode:publish,token:secret");
  EXPECT_EQ(a.resource, "abc");
  EXPECT_EQ(a.mode, Mode::Publish);
  EXPECT_EQ(a.token, "secret");
  auto b = ok("abc,token:secret,mode:publish");
  EXPECT_EQ(b.resource, "abc");
  EXPECT_EQ(b.mode, Mode::Publish);
  EXPECT_EQ(b.token, "secret");
  auto c = ok("abc,mode:request");
  EXPECT_EQ(c.mode, Mode::Request);
  auto d = ok("abc,token:t");
  EXPECT_EQ(d.mode, Mode::Request);
  EXPECT_EQ(d.token, "t");
}

TEST(SrtStreamId, LastValueRunsToTheEnd) {
  auto a = ok("abc,mode:publish,token:a,b");
  EXPECT_EQ(a.token, "a,b");
  auto b = ok("abc,token:x:y,z=1,mode:publish");
  EXPECT_EQ(b.token, "x:y,z=1");
  EXPECT_EQ(b.mode, Mode::Publish);
  // A key with nothing after its colon is not a key: it stays part of the value before it.
  auto c = ok("abc,token:t,mode:");
  EXPECT_EQ(c.token, "t,mode:");
  auto d = ok("abc,mode:");
  EXPECT_EQ(d.resource, "abc,mode:");
}

TEST(SrtStreamId, ResourceMayHoldPunctuation) {
  auto a = ok("ch/8a7c-4f:main.stream,mode:publish");
  EXPECT_EQ(a.resource, "ch/8a7c-4f:main.stream");
  auto b = ok("a,b,c");
  EXPECT_EQ(b.resource, "a,b,c");
  auto c = ok("a,modex:publish");
  EXPECT_EQ(c.resource, "a,modex:publish");
  EXPECT_EQ(c.mode, Mode::Request);
}

TEST(SrtStreamId, RepeatedKeysKeepTheLast) {
  auto a = ok("r,mode:request,mode:publish");
  EXPECT_EQ(a.mode, Mode::Publish);
}

TEST(SrtStreamId, ShortSyntaxErrors) {
  EXPECT_EQ(err(""), "empty streamid");
  EXPECT_EQ(err(",mode:publish"), "empty resource");
  EXPECT_EQ(err(",token:x"), "empty resource");
  EXPECT_NE(err("abc,mode:play").find("invalid mode 'play'"), std::string::npos);
  EXPECT_NE(err("abc,mode:Publish").find("invalid mode"), std::string::npos);
  // An empty mode value (the next key follows at once) is invalid, as upstream.
  EXPECT_NE(err("abc,mode:,token:x").find("invalid mode ''"), std::string::npos);
}

TEST(SrtStreamId, LegacySyntax) {
  auto a = ok("#!:m=publish,r=test,token=abc");
  EXPECT_TRUE(a.legacy);
  EXPECT_EQ(a.resource, "test");
  EXPECT_EQ(a.mode, Mode::Publish);
  EXPECT_EQ(a.token, "abc");
  auto b = ok("#!:r=test");
  EXPECT_EQ(b.mode, Mode::Request);
  auto c = ok("#!:token=x=y,r=a/b,m=request");
  EXPECT_EQ(c.token, "x=y");
  EXPECT_EQ(c.resource, "a/b");
}

TEST(SrtStreamId, LegacyAccessControlKeys) {
  // SRT's standard "#!::" prefix and its u/s/h/t keys.
  auto a = ok("#!::u=admin,r=bluesbrothers1_hi,m=publish,s=123,h=example.com,t=stream");
  EXPECT_EQ(a.resource, "bluesbrothers1_hi");
  EXPECT_EQ(a.user, "admin");
  EXPECT_EQ(a.mode, Mode::Publish);
  EXPECT_NE(err("#!:r=x,t=file").find("unsupported type"), std::string::npos);
  EXPECT_NE(err("#!:r=x,m=bidirectional").find("invalid mode"), std::string::npos);
  // Unknown keys and pairs without '=' are ignored; a repeated key keeps its last value.
  auto b = ok("#!:zz=1,junk,,r=first,r=second");
  EXPECT_EQ(b.resource, "second");
}

TEST(SrtStreamId, LegacyErrors) {
  EXPECT_NE(err("#!:").find("empty resource"), std::string::npos);
  EXPECT_NE(err("#!:m=publish").find("empty resource"), std::string::npos);
  EXPECT_NE(err("#!:r=,m=publish").find("empty resource"), std::string::npos);
  EXPECT_NE(err("#!:r").find("empty resource"), std::string::npos);
}

TEST(SrtStreamId, HostileInput) {
  EXPECT_EQ(err(std::string(513, 'a')), "streamid longer than 512 bytes");
  EXPECT_TRUE(parse_stream_id(std::string(512, 'a')).ok());
  EXPECT_EQ(err(std::string("ab\0c", 4)), "streamid contains control characters");
  EXPECT_EQ(err("abc\n,mode:publish"), "streamid contains control characters");
  EXPECT_EQ(err("abc\x7f"), "streamid contains control characters");
  // A long invalid mode is quoted truncated and printable only.
  auto e = err("abc,mode:" + std::string(100, 'x') + "\xff");
  EXPECT_LT(e.size(), 90u);
  // Bytes above 0x7f are allowed in resources (UTF-8 names).
  EXPECT_EQ(ok("k\xc3\xa4se").resource, "k\xc3\xa4se");
  // Only separators: a (strange but) valid resource, as upstream.
  EXPECT_EQ(ok(",,,,").resource, ",,,,");
}

TEST(SrtStreamId, ErrorsNeverQuoteTheToken) {
  for (auto s : {"abc,token:SECRET1234,mode:nope", "#!:token=SECRET1234,m=nope,r=x", "#!:token=SECRET1234",
                 ",token:SECRET1234", "#!:token=SECRET1234,t=file,r=x"}) {
    auto r = parse_stream_id(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.error.find("SECRET"), std::string::npos) << r.error;
  }
}

TEST(SrtStreamId, FormatRoundTrips) {
  for (auto s : {"abc", "abc,mode:publish", "abc,token:a,b", "abc,mode:publish,token:x,mode:", "#!:r=q,m=publish,token=t"}) {
    auto id = ok(s);
    auto again = ok(format_stream_id(id));
    EXPECT_EQ(again.resource, id.resource) << s;
    EXPECT_EQ(again.mode, id.mode) << s;
    EXPECT_EQ(again.token, id.token) << s;
  }
  EXPECT_EQ(format_stream_id({"live", Mode::Publish, "tok", false, ""}), "live,mode:publish,token:tok");
}

}  // namespace
}  // namespace dragon::srt
