#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace dragon::util {

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);  // accepts missing padding
// RFC 4648 §5, no padding (JWT).
std::string base64url_encode(std::string_view in);
std::optional<std::string> base64url_decode(std::string_view in);

}  // namespace dragon::util
