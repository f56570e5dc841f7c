#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace dragon::util {

std::vector<std::string> split(std::string_view s, char sep, bool skip_empty = true);
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool starts_with_icase(std::string_view s, std::string_view prefix);
std::string to_lower(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// Percent-decoding; returns false on a malformed escape. plus_as_space for query strings.
bool url_decode(std::string_view in, std::string& out, bool plus_as_space = false);
std::string url_encode(std::string_view in);
// Constant-time comparison for secrets.
bool secure_equals(std::string_view a, std::string_view b);

}  // namespace dragon::util
