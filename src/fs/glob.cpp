#include "fs/glob.hpp"

#include <utility>

namespace dragon::fs {

namespace {

constexpr std::size_t k_max_pattern = 4096;
constexpr int k_max_depth = 32;

// Lenient UTF-8 decoding: gobwas matches runes, so `?` must take one character, not one byte.
// Invalid bytes map to U+DC00+byte (lone surrogates, which valid UTF-8 never yields).
std::u32string decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t cp = 0;
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    }
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok) {
      out.push_back(0xDC00 + b);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(len);
  }
  return out;
}

}  // namespace

struct Glob::Node {
  enum class Edge { None, Literal, NotSep, Any, Class };
  Edge edge = Edge::None;
  char32_t ch = 0;
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;  // Class
  int to = -1;                                         // target of the consuming edge
  std::vector<int> eps;                                // epsilon transitions

  bool accepts(char32_t c) const {
    switch (edge) {
      case Edge::None: return false;
      case Edge::Literal: return c == ch;
      case Edge::NotSep: return c != U'/';
      case Edge::Any: return true;
      case Edge::Class: {
        bool in = false;
        for (const auto& [lo, hi] : ranges) in = in || (c >= lo && c <= hi);
        return in != negated;
      }
    }
    return false;
  }
};

namespace {

struct Compiler {
  const std::u32string& p;
  std::size_t pos = 0;
  std::vector<Glob::Node> nodes;

  int add() {
    nodes.emplace_back();
    return static_cast<int>(nodes.size()) - 1;
  }

  // Compiles items until end, or ',' / '}' inside braces; returns the end node or -1 when malformed.
  int seq(int from, int depth) {
    while (pos < p.size()) {
      const char32_t c = p[pos];
      if (depth > 0 && (c == U',' || c == U'}')) return from;
      if (c == U'*') {
        const bool super = pos + 1 < p.size() && p[pos + 1] == U'*';
        pos += super ? 2 : 1;
        const int loop = add();
        const int end = add();
        nodes[static_cast<std::size_t>(from)].eps.push_back(loop);
        auto& n = nodes[static_cast<std::size_t>(loop)];
        n.edge = super ? Glob::Node::Edge::Any : Glob::Node::Edge::NotSep;
        n.to = loop;
        n.eps.push_back(end);
        from = end;
      } else if (c == U'?') {
        ++pos;
        const int next = add();
        auto& n = nodes[static_cast<std::size_t>(from)];
        n.edge = Glob::Node::Edge::NotSep;
        n.to = next;
        from = next;
      } else if (c == U'[') {
        ++pos;
        Glob::Node cls;
        cls.edge = Glob::Node::Edge::Class;
        if (pos < p.size() && p[pos] == U'!') {
          cls.negated = true;
          ++pos;
        }
        bool closed = false;
        while (pos < p.size()) {
          char32_t lo = p[pos];
          if (lo == U']') {
            closed = true;
            ++pos;
            break;
          }
          if (lo == U'\\') {
            if (++pos >= p.size()) return -1;
            lo = p[pos];
          }
          ++pos;
          char32_t hi = lo;
          if (pos + 1 < p.size() && p[pos] == U'-' && p[pos + 1] != U']') {
            pos += 1;
            hi = p[pos];
            if (hi == U'\\') {
              if (++pos >= p.size()) return -1;
              hi = p[pos];
            }
            ++pos;
            if (hi < lo) return -1;
          }
          cls.ranges.emplace_back(lo, hi);
        }
        if (!closed) return -1;
        const int next = add();
        cls.to = next;
        cls.eps = std::move(nodes[static_cast<std::size_t>(from)].eps);
        nodes[static_cast<std::size_t>(from)] = std::move(cls);
        from = next;
      } else if (c == U'{') {
        if (depth + 1 > k_max_depth) return -1;
        ++pos;
        const int end = add();
        for (;;) {
          const int start = add();
          nodes[static_cast<std::size_t>(from)].eps.push_back(start);
          const int alt_end = seq(start, depth + 1);
          if (alt_end < 0 || pos >= p.size()) return -1;
          nodes[static_cast<std::size_t>(alt_end)].eps.push_back(end);
          if (p[pos++] == U'}') break;  // else ',': next alternative
        }
        from = end;
      } else {
        char32_t lit = c;
        if (c == U'\\') {
          if (++pos >= p.size()) return -1;
          lit = p[pos];
        }
        ++pos;
        const int next = add();
        auto& n = nodes[static_cast<std::size_t>(from)];
        n.edge = Glob::Node::Edge::Literal;
        n.ch = lit;
        n.to = next;
        from = next;
      }
    }
    return depth > 0 ? -1 : from;  // inside braces the pattern ended before '}'
  }
};

// Adds `s` and everything reachable by epsilon moves (iterative: no recursion on hostile input).
void closure(const std::vector<Glob::Node>& nodes, int s, std::vector<char>& mark, std::vector<int>& set,
             std::vector<int>& stack) {
  stack.push_back(s);
  while (!stack.empty()) {
    const int n = stack.back();
    stack.pop_back();
    if (mark[static_cast<std::size_t>(n)]) continue;
    mark[static_cast<std::size_t>(n)] = 1;
    set.push_back(n);
    for (int e : nodes[static_cast<std::size_t>(n)].eps) stack.push_back(e);
  }
}

}  // namespace

std::optional<Glob> Glob::compile(std::string_view pattern) {
  if (pattern.size() > k_max_pattern) return std::nullopt;
  const auto p = decode(pattern);
  Compiler c{p};
  const int start = c.add();
  const int end = c.seq(start, 0);
  if (end < 0) return std::nullopt;
  Glob g;
  g.accept_ = end;
  g.nodes_ = std::make_shared<const std::vector<Node>>(std::move(c.nodes));
  return g;
}

bool Glob::match(std::string_view name) const {
  if (!nodes_) return false;
  const auto& nodes = *nodes_;
  const auto s = decode(name);
  std::vector<char> mark(nodes.size(), 0);
  std::vector<int> cur, next, stack;
  closure(nodes, 0, mark, cur, stack);
  for (const char32_t c : s) {
    std::fill(mark.begin(), mark.end(), 0);
    next.clear();
    for (int n : cur) {
      const auto& node = nodes[static_cast<std::size_t>(n)];
      if (node.accepts(c)) closure(nodes, node.to, mark, next, stack);
    }
    std::swap(cur, next);
    if (cur.empty()) return false;
  }
  for (int n : cur) {
    if (n == accept_) return true;
  }
  return false;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  const auto g = Glob::compile(pattern);
  return g && g->match(name);
}

}  // namespace dragon::fs
