#pragma once
// SRT stream ids as datarhei Core understands them (research/datarhei-core.md §6.2). Two syntaxes:
//
//   <resource>[,mode:<publish|request>][,token:<token>]
//     Keys in any order. A key starts at ",mode:" or ",token:" followed by at least one character;
//     the resource is everything before the first key, and each key's value runs up to the next key,
//     so the last value extends to the end (`res,token:a,b` ⇒ token "a,b"). Default mode: request.
//
//   #!:m=publish,r=<resource>,token=<token>   (also the SRT access-control prefix "#!::")
//     Comma-separated key=value pairs. r = resource, m = mode (request, publish; SRT's
//     "bidirectional" is refused), token. SRT's standard keys u (user), s (session), h (host) are
//     accepted and ignored; t (type) must be "stream" when given. Unknown keys and pairs without
//     '=' are ignored (upstream does the same). A repeated key keeps its last value.
//
// Errors never quote the token. Pure functions, no allocation beyond the result; safe on any bytes.
#include <cstddef>
#include <string>
#include <string_view>

namespace dragon::srt {

inline constexpr std::size_t kMaxStreamIdLength = 512;  // SRTO_STREAMID's limit in libsrt

enum class Mode { Request, Publish };
std::string_view mode_name(Mode m);  // "request", "publish"

struct StreamId {
  std::string resource;
  Mode mode = Mode::Request;
  std::string token;
  bool legacy = false;  // parsed from the "#!:" syntax
  std::string user;     // "u" of the "#!:" syntax (informational only)
};

struct StreamIdResult {
  StreamId id;
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

StreamIdResult parse_stream_id(std::string_view streamid);

// Formats a stream id in the short syntax (what FFmpeg processes get from the {srt} placeholder).
std::string format_stream_id(const StreamId& id);

}  // namespace dragon::srt
