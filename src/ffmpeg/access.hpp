#pragma once
// ffmpeg.access.{input,output}.{allow,block}: regular expressions matched anywhere in an address.
// Any block match rejects; a non-empty allow list requires a match (ffmpeg/validator.go).
// Patterns use std::regex ECMAScript syntax; a leading "(?i)" (RE2 style) is honoured.
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::ffmpeg {

class AccessList {
 public:
  // Empty/blank expressions are ignored. Returns the error as upstream words it, e.g.
  // "invalid allow expression: '(' (...)".
  std::optional<std::string> set(const std::vector<std::string>& allow, const std::vector<std::string>& block);
  bool allowed(std::string_view address) const;
  bool empty() const { return allow_.empty() && block_.empty(); }

 private:
  std::vector<std::regex> allow_, block_;
};

}  // namespace dragon::ffmpeg
