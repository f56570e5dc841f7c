// S3 responses (ListObjectsV2 pages, error bodies) come from a server we do not control: the XML
// extractor must reject anything malformed without crashing, recursing or allocating without bound,
// and what it accepts must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fs/s3_xml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace x = dragon::fs::s3xml;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (const auto page = x::parse_list_objects(in)) {
    // Every accepted object came from a <Contents> element: at least "<Contents><Key>" per object.
    if (page->objects.size() > size / 15 + 1) __builtin_trap();
  }
  if (const auto err = x::parse_error(in)) {
    if (err->code.size() > size || err->message.size() > size) __builtin_trap();
  }
  if (const auto text = x::decode_entities(in)) {
    // References only ever shrink: "&#x10FFFF;" (10 bytes) is 4 UTF-8 bytes.
    if (text->size() > size) __builtin_trap();
  }
  (void)x::parse_iso8601(in);
  return 0;
}
