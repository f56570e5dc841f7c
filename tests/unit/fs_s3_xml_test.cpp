// The S3 XML extractor (ListObjectsV2 pages and error bodies) on real-shaped and hostile input.
#include "fs/s3_xml.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dragon::fs::s3xml {
namespace {

using namespace std::chrono;

// As AWS documents a ListObjectsV2 response (plus an Owner, which must not confuse Key/Size).
constexpr const char* k_aws_page = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix/>
  <KeyCount>2</KeyCount>
  <MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>my-image.jpg</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
    <Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><Size>1</Size></Owner>
  </Contents>
  <Contents>
    <Key>a/b &amp; c &lt;d&gt;.ts</Key>
    <LastModified>2026-11-25T16:15:47Z</LastModified>
    <Size>0</Size>
  </Contents>
</ListBucketResult>)";

TEST(S3Xml, ParsesAnAwsListPage) {
  const auto page = parse_list_objects(k_aws_page);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "my-image.jpg");
  EXPECT_EQ(page->objects[0].size, 434234u);  // not the Owner's <Size>
  EXPECT_EQ(system_clock::to_time_t(page->objects[0].last_modified), 1255369830);
  EXPECT_EQ(page->objects[1].key, "a/b & c <d>.ts");
  EXPECT_EQ(page->objects[1].size, 0u);
  EXPECT_EQ(system_clock::to_time_t(page->objects[1].last_modified), 1795623347);
}

TEST(S3Xml, ParsesS3rversLastPage) {
  const auto page = parse_list_objects(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01/\">"
      "<Name>dragon</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
      "</ListBucketResult>");
  ASSERT_TRUE(page);
  EXPECT_FALSE(page->is_truncated);
  EXPECT_TRUE(page->next_continuation_token.empty());
  EXPECT_TRUE(page->objects.empty());
}

TEST(S3Xml, KeysKeepTheirWhitespaceAndCdataIsLiteral) {
  const auto page = parse_list_objects(
      "<ListBucketResult><Contents><Key> x </Key><Size> 7 </Size></Contents>"
      "<Contents><Key><![CDATA[<&amp;>]]></Key><Size>1</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, " x ");
  EXPECT_EQ(page->objects[0].size, 7u);
  EXPECT_EQ(page->objects[1].key, "<&amp;>");
}

TEST(S3Xml, NamespacePrefixesCommentsAndAttributesAreIgnored) {
  const auto page = parse_list_objects(
      "<!-- <Contents><Key>fake</Key></Contents> -->"
      "<s3:ListBucketResult xmlns:s3='x' a=\"1 > 2 /> 3\"><s3:Contents><!-- <Key>no</Key> --><s3:Key>k</s3:Key>"
      "<s3:Size>3</s3:Size></s3:Contents><?pi x?></s3:ListBucketResult>");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "k");
}

TEST(S3Xml, RefusesMalformedOrHostileDocuments) {
  const char* bad[] = {
      "",
      "not xml",
      "<ListBucketResult>",                                        // unclosed
      "<ListBucketResult></Other>",                                // mismatched
      "<ListBucketResult></ListBucketResult><ListBucketResult/>",  // two roots
      "<ListBucketResult></ListBucketResult>trailing",             // text after the root
      "<Error><Code>x</Code></Error>",                             // another document
      "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",             // no Key
      "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",  // bad size
      "<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999999</Size></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a&bogus;</Key></Contents></ListBucketResult>",  // unknown entity
      "<ListBucketResult><Contents><Key>a&#0;</Key></Contents></ListBucketResult>",     // NUL
      "<ListBucketResult><Contents><Key>a&#xD800;</Key></Contents></ListBucketResult>",  // surrogate
      "<ListBucketResult><Contents><Key>a&#x110000;</Key></Contents></ListBucketResult>",
      "<ListBucketResult><Contents><Key>a&amp</Key></Contents></ListBucketResult>",  // unterminated
      // An internal DTD subset could define entities (billion laughs): refused outright.
      "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>&a;</ListBucketResult>",
      "<ListBucketResult><!-- unterminated </ListBucketResult>",
      "<ListBucketResult><![CDATA[ x </ListBucketResult>",
      "<ListBucketResult a=\"unterminated></ListBucketResult>",
      "<ListBucketResult><Contents <Key>a</Key></Contents></ListBucketResult>",
      "< ListBucketResult></ListBucketResult>",
  };
  for (const char* doc : bad) EXPECT_FALSE(parse_list_objects(doc)) << doc;
}

TEST(S3Xml, DeepNestingIsRefusedNotRecursed) {
  std::string deep = "<ListBucketResult>";
  for (int i = 0; i < 100000; ++i) deep += "<a>";
  EXPECT_FALSE(parse_list_objects(deep));
  std::string ok = "<ListBucketResult>";
  for (int i = 0; i < 60; ++i) ok += "<a>";
  for (int i = 0; i < 60; ++i) ok += "</a>";
  ok += "</ListBucketResult>";
  EXPECT_TRUE(parse_list_objects(ok));
}

TEST(S3Xml, ManyObjects) {
  std::string doc = "<ListBucketResult>";
  for (int i = 0; i < 5000; ++i) doc += "<Contents><Key>k" + std::to_string(i) + "</Key><Size>" + std::to_string(i) + "</Size></Contents>";
  doc += "</ListBucketResult>";
  const auto page = parse_list_objects(doc);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->objects.size(), 5000u);
  EXPECT_EQ(page->objects[4999].key, "k4999");
  EXPECT_EQ(page->objects[4999].size, 4999u);
}

TEST(S3Xml, ErrorBodies) {
  const auto e = parse_error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
      "signature we calculated does not match &apos;x&apos;</Message><StringToSign>AWS4...</StringToSign>"
      "<RequestId>4442587FB7D0A2F9</RequestId></Error>");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");
  EXPECT_EQ(e->message, "The request signature we calculated does not match 'x'");
  const auto empty = parse_error("<Error/>");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->code.empty());
  EXPECT_FALSE(parse_error("<html><body>502 Bad Gateway</body></html>"));
  EXPECT_FALSE(parse_error("Bad Gateway"));
  EXPECT_FALSE(parse_error(""));
}

TEST(S3Xml, Entities) {
  EXPECT_EQ(decode_entities("&lt;a&amp;b&gt;&quot;&apos;"), "<a&b>\"'");
  EXPECT_EQ(decode_entities("&#65;&#x42;&#x00e9;&#x1F600;"), "AB\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(decode_entities("no refs"), "no refs");
  EXPECT_EQ(decode_entities("&#x1;"), "\x01");  // control characters in keys (AWS emits them)
  EXPECT_FALSE(decode_entities("&"));
  EXPECT_FALSE(decode_entities("&;"));
  EXPECT_FALSE(decode_entities("&#;"));
  EXPECT_FALSE(decode_entities("&#x;"));
  EXPECT_FALSE(decode_entities("&#12a;"));
  EXPECT_FALSE(decode_entities("&#99999999999999999999;"));
  EXPECT_FALSE(decode_entities("&AMP;"));
  EXPECT_FALSE(decode_entities("&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;"));
}

TEST(S3Xml, Iso8601) {
  using std::chrono::system_clock;
  auto secs = [](std::string_view s) { return system_clock::to_time_t(*parse_iso8601(s)); };
  EXPECT_EQ(secs("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(secs("2026-11-25T16:15:47.000Z"), 1795623347);
  EXPECT_EQ(secs("2026-11-25T17:15:47+01:00"), 1795623347);
  EXPECT_EQ(secs("2024-02-29T00:00:00Z"), 1709164800);
  const auto frac = *parse_iso8601("2026-11-25T16:15:47.123456789Z");
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::nanoseconds>(frac.time_since_epoch()).count() % 1000000000,
            123456789);  // libstdc++'s system_clock counts nanoseconds
  for (const char* bad : {"", "2026-11-25", "2026-11-25T16:15:47", "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2026-11-25T24:00:00Z", "2026-11-25T16:15:47.Z", "2026-11-25T16:15:47.0000000000Z",
                          "2026-11-25T16:15:47Zjunk", "2026-11-25T16:15:47+1:00", "2026-11-25X16:15:47Z",
                          "20261125T161547Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                          "1899-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
  }
}

}  // namespace
}  // namespace dragon::fs::s3xml
