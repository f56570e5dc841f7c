#pragma once
// Helpers shared by the config module's translation units; not part of its public API.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dragon::config::detail {

// Dotted-path access into a JSON document. lookup() returns nullptr when a segment is missing or an
// intermediate value is not an object.
const Json* lookup(const Json& doc, std::string_view path);
Json* lookup(Json& doc, std::string_view path);
// Creates intermediate objects (replacing non-objects) as needed.
void assign(Json& doc, std::string_view path, Json value);
std::vector<std::string> split_path(std::string_view path);

// Short description of a JSON value for error messages: scalars as JSON text (long strings cut),
// containers by kind only, so hostile documents never produce huge messages.
std::string describe(const Json& v);
// "a boolean", "an array of strings", ...
std::string expected_label(const Key& k);
std::string type_name(Type t);

// Nesting depth of a value, computed without recursion (bounded by `limit`: stops counting there).
std::size_t depth(const Json& v, std::size_t limit);
inline constexpr std::size_t k_max_json_depth = 16;

// Checks the JSON type of `in` for key `k` and writes the normalised value to `out` (Address bare port,
// element shapes of JSON-valued keys). Returns the reason when the type is wrong. When `in` is null and
// the key is a scalar, `out` stays discarded: null means "keep the current value", as Go's decoder does.
std::optional<std::string> coerce(const Key& k, const Json& in, Json& out);
// Parses an environment variable's text for `k` into a JSON value (not yet coerced).
std::optional<std::string> parse_env(const Key& k, const std::string& text, Json& out);

// Element shape of the JSON-valued keys (storage.s3, api.auth.auth0.tenants, webrtc.ice_servers):
// fills missing fields with zero values, drops unknown fields, rejects wrong types.
std::optional<std::string> normalize_json_value(const Key& k, const Json& in, Json& out);
// Key-specific environment forms (S3 URLs, Auth0 tenant URLs/base64); nullopt when the key has none,
// otherwise the parse result (error or value).
std::optional<std::optional<std::string>> parse_env_special(const Key& k, const std::string& text, Json& out);

// For docs: how a random or time-based default is described ("random UUID"), or nullopt.
std::optional<std::string> dynamic_default_doc(std::string_view json_path);

// Layout migration. Where key `k` lives in a document of layout `version` (1, 2 or 3), or nullopt when
// that layout has no such key.
std::optional<std::string> source_path(const Key& k, int version);
// After a version 1 document was overlaid: upstream's v1 → v2 RTMP rewrite (enable_tls meant "RTMPS
// instead of RTMP", so the TLS listener takes the old address and plain RTMP moves one port down; app
// gains a leading slash). `doc` is the client's document, `next` the candidate data.
void migrate_v1_rtmp(const Json& doc, Json& next, Errors& errors);

// Year-range-checked RFC 3339 parsing (util::parse_rfc3339 overflows nanosecond time points for years
// far from 1970, e.g. Go's zero time 0001-01-01).
bool parse_time(const std::string& s, std::chrono::system_clock::time_point& out);
inline constexpr std::string_view k_zero_time = "0001-01-01T00:00:00Z";

}  // namespace dragon::config::detail
