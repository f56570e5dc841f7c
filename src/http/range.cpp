#include "http/range.hpp"

#include <charconv>
#include <optional>

namespace dragon::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

ByteRange parse_range(std::string_view header, std::uint64_t size) {
  ByteRange none;
  header = trim(header);
  constexpr std::string_view k_unit = "bytes=";
  if (header.size() < k_unit.size()) return none;
  for (std::size_t i = 0; i < k_unit.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != k_unit[i]) return none;
  }
  const auto spec = trim(header.substr(k_unit.size()));
  if (spec.find(',') != std::string_view::npos) return none;  // several ranges: whole file
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return none;
  const auto a = trim(spec.substr(0, dash));
  const auto b = trim(spec.substr(dash + 1));
  ByteRange r;
  if (a.empty()) {  // suffix: the last N bytes
    const auto n = number(b);
    if (!n) return none;
    if (*n == 0 || size == 0) return {ByteRange::Kind::Unsatisfiable, 0, 0};
    r.first = *n >= size ? 0 : size - *n;
    r.last = size - 1;
  } else {
    const auto first = number(a);
    if (!first) return none;
    std::uint64_t last = size == 0 ? 0 : size - 1;
    if (!b.empty()) {
      const auto l = number(b);
      if (!l || *l < *first) return none;  // "5-3" is invalid, not unsatisfiable (RFC 9110 §14.1.1)
      if (*l < last) last = *l;
    }
    if (*first >= size) return {ByteRange::Kind::Unsatisfiable, 0, 0};
    r.first = *first;
    r.last = last;
  }
  r.kind = ByteRange::Kind::Satisfiable;
  return r;
}

}  // namespace dragon::http
