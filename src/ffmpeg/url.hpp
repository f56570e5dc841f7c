#pragma once
// Upstream's relaxed URL handling (net/url/url.go) as far as address validation needs it, including
// the error texts of Go's net/url for hosts, since they reach API clients verbatim.
#include <optional>
#include <string>
#include <string_view>

namespace dragon::ffmpeg::url {

// `(?i)^[a-z][a-z0-9.+-:]*:/{1,3}` (the class holds '+' to ':' as a range, as upstream's regex does).
bool has_scheme(std::string_view address);

struct Parsed {
  std::string scheme, opaque, user, host, path, query, fragment;
};

// Relaxed parse: only the authority is checked (as Go's url.Parse("//" + host) does). On error
// returns the message, e.g. `parse "//[::1": missing ']' in host`.
std::optional<std::string> parse(std::string_view address, Parsed* out = nullptr);

// Go's strconv.Quote (used by url.Error); exposed for tests.
std::string go_quote(std::string_view s);

// Go's net.SplitHostPort, reduced: "[::1]:80", "host:80", ":80". False when there is no port.
bool split_host_port(std::string_view hostport, std::string& host, std::string& port);

}  // namespace dragon::ffmpeg::url
