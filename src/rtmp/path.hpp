#pragma once
// Stream names as upstream (datarhei Core, rtmp/rtmp.go) sees them: the channel key is the URL path
// (connect's app + the publish/play name, "/live/foo"); with a token configured, the token is the query
// parameter `token`, or else the last path element, which is then removed ("/live/foo/SECRET" →
// "/live/foo"). Queries never belong to the path.
#include <cstddef>
#include <string>
#include <string_view>

namespace dragon::rtmp {

inline constexpr std::size_t k_max_path = 512;

struct StreamTarget {
  std::string path;   // "/live/foo"; empty when invalid
  std::string token;  // as given by the client (query or last element); never log it
  bool has_token = false;
  std::string error;  // why the name is invalid
};

// `app` from connect (may carry "?query"), `name` from publish/play (may carry "?query");
// `token_in_path`: take the last path element as the token when the query has none (a token is
// configured).
StreamTarget resolve_target(std::string_view app, std::string_view name, bool token_in_path);

// The app from a tcUrl ("rtmp://host:1935/live?x" → "live?x"), for clients whose connect lacks "app".
std::string app_from_tc_url(std::string_view tc_url);

// Does `path` lie under the publishing prefix `app` ("/" matches everything; "/live" matches "/live/x"
// and "/live", not "/lively")?
bool app_matches(std::string_view path, std::string_view app);

// Session reference: the path without the app prefix, without a leading '/' and without an extension
// ("/live/foo.stream" with app "/live" → "foo"; "/abc.stream" with app "/" → "abc").
std::string session_reference(std::string_view path, std::string_view app);

// Constant-time comparison for tokens.
bool token_equal(std::string_view a, std::string_view b);

}  // namespace dragon::rtmp
