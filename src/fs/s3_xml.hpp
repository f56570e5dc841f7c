#pragma once
// The two S3 XML documents the S3 filesystem reads: ListObjectsV2 results and error bodies. A small
// non-validating tokenizer, not a general XML parser: elements, text, the five predefined entities
// and numeric character references; comments, processing instructions and <!DOCTYPE> are skipped
// (no custom entities, so no entity expansion attacks); CDATA is literal text. Namespace prefixes
// are ignored ("s3:Key" is "Key"). Bounded: nesting deeper than 64 or malformed markup fails the
// whole document rather than returning half of it. Pure functions, no I/O: fuzzed (fuzz_s3_xml).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::fs::s3xml {

struct Object {
  std::string key;  // decoded
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point last_modified;  // epoch when absent or unparsable
};

struct ListPage {
  std::vector<Object> objects;
  bool is_truncated = false;
  std::string next_continuation_token;  // decoded; empty when absent
};

struct ErrorBody {
  std::string code;     // "NoSuchKey", "SignatureDoesNotMatch", ...
  std::string message;  // S3's human-readable text
};

// nullopt: not well-formed enough, not a <ListBucketResult>, or a <Contents> without <Key> or with a
// <Size> that is not a decimal number.
std::optional<ListPage> parse_list_objects(std::string_view xml);

// nullopt unless the document is an <Error> element; code/message empty when absent.
std::optional<ErrorBody> parse_error(std::string_view xml);

// "&lt;a&amp;b&#x41;&#66;" -> "<a&bAB". nullopt for an unknown or malformed reference, or a code
// point that is not a valid XML character (0, surrogates, > U+10FFFF).
std::optional<std::string> decode_entities(std::string_view text);

// ISO 8601 as S3 writes it: "2026-11-25T16:15:47.000Z" (fraction optional, 'Z' or ±hh:mm), years
// 1900..2200 (a nanosecond system_clock overflows outside 1677..2262).
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

}  // namespace dragon::fs::s3xml
