#pragma once
// Glob patterns with gobwas/glob semantics and '/' as the separator, as upstream matches cleanup
// patterns and ?glob= filters: `*` (any run within a segment), `**` (any run, across segments), `?`
// (one character, not '/'), `[abc]` `[a-z]` `[!a-z]`, `{a,b}` (alternatives, may nest), `\x` escapes.
// Compiled to an NFA and run as a state set: time is O(pattern × name) for any pattern, so hostile
// patterns ("*a*a*a*a…b") cannot backtrack exponentially.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dragon::fs {

class Glob {
 public:
  // nullopt for a malformed pattern (unbalanced [ or {, trailing \, nesting deeper than 32,
  // longer than 4096 characters). Upstream's matcher then matches nothing.
  static std::optional<Glob> compile(std::string_view pattern);
  bool match(std::string_view name) const;

  struct Node;

 private:
  std::shared_ptr<const std::vector<Node>> nodes_;
  int accept_ = 0;
};

// One-shot form: false for a malformed pattern.
bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace dragon::fs
