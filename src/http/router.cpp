#include "http/router.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>


namespace dragon::http {

struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> statics;
  std::unique_ptr<Node> param;
  std::string param_name;
  std::map<Method, const Route*> handlers;
  // Trailing wildcard below this node.
  std::string wildcard_name;
  std::map<Method, const Route*> wildcard_handlers;
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

namespace {
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  if (!path.empty() && path[0] == '/') i = 1;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}
}  // namespace

void Router::add(Method method, std::string pattern, Handler handler, RouteOptions options) {
  if (pattern.empty() || pattern[0] != '/') throw std::invalid_argument("route pattern must start with /: " + pattern);
  auto route = std::make_unique<Route>(Route{method, pattern, std::move(handler), options});
  Node* node = root_.get();
  const auto segs = segments(pattern);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const auto seg = segs[i];
    if (seg.size() >= 3 && seg.front() == '{' && seg.back() == '}' && seg[seg.size() - 2] == '*') {
      if (i + 1 != segs.size()) throw std::invalid_argument("wildcard must be last: " + pattern);
      const std::string name(seg.substr(1, seg.size() - 3));
      if (node->wildcard_handlers.count(method)) throw std::invalid_argument("duplicate route: " + pattern);
      node->wildcard_name = name;
      node->wildcard_handlers[method] = route.get();
      routes_.push_back(std::move(route));
      return;
    }
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      const std::string name(seg.substr(1, seg.size() - 2));
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param_name = name;
      } else if (node->param_name != name) {
        throw std::invalid_argument("conflicting parameter names at " + pattern);
      }
      node = node->param.get();
      continue;
    }
    auto& child = node->statics[std::string(seg)];
    if (!child) child = std::make_unique<Node>();
    node = child.get();
  }
  if (node->handlers.count(method)) throw std::invalid_argument("duplicate route: " + pattern);
  node->handlers[method] = route.get();
  routes_.push_back(std::move(route));
}

namespace {
struct Searcher {
  Method method;
  const std::vector<std::string_view>& segs;
  std::string_view path;
  Match best;
  bool found = false;
  std::vector<Method> allowed;

  void collect(const std::map<Method, const Route*>& handlers) {
    for (const auto& [m, r] : handlers) allowed.push_back(m);
  }

  // Depth-first, statics before params before wildcards; the first complete match wins.
  bool walk(const Router::Node* node, std::size_t i, std::vector<std::pair<std::string, std::string>>& params);
};

std::size_t offset_of_segment(std::string_view path, std::size_t index) {
  std::size_t pos = (!path.empty() && path[0] == '/') ? 1 : 0;
  for (std::size_t k = 0; k < index; ++k) {
    const auto j = path.find('/', pos);
    if (j == std::string_view::npos) return path.size();
    pos = j + 1;
  }
  return pos;
}

bool Searcher::walk(const Router::Node* node, std::size_t i,
                    std::vector<std::pair<std::string, std::string>>& params) {
  if (i == segs.size()) {
    if (!node->handlers.empty()) {
      auto it = node->handlers.find(method);
      if (it == node->handlers.end() && method == Method::Head) it = node->handlers.find(Method::Get);
      if (it != node->handlers.end()) {
        best.route = it->second;
        best.params = params;
        return true;
      }
      collect(node->handlers);
    }
    // A wildcard also matches an empty rest ("/memfs/" or "/memfs").
  }
  if (i < segs.size()) {
    if (auto it = node->statics.find(segs[i]); it != node->statics.end()) {
      if (walk(it->second.get(), i + 1, params)) return true;
    }
    if (node->param && !segs[i].empty()) {
      params.emplace_back(node->param_name, std::string(segs[i]));
      if (walk(node->param.get(), i + 1, params)) return true;
      params.pop_back();
    }
  }
  // A more specific route of this path with other methods wins over a shallower catch-all
  // ("POST /api/v3/whep/{id}" answers GET with 405, not with the disk mount at "/{path*}").
  if (!node->wildcard_handlers.empty() && i <= segs.size() && allowed.empty()) {
    auto it = node->wildcard_handlers.find(method);
    if (it == node->wildcard_handlers.end() && method == Method::Head) it = node->wildcard_handlers.find(Method::Get);
    if (it != node->wildcard_handlers.end()) {
      best.route = it->second;
      best.params = params;
      const auto off = i < segs.size() ? offset_of_segment(path, i) : path.size();
      best.params.emplace_back(node->wildcard_name, std::string(path.substr(off)));
      return true;
    }
    collect(node->wildcard_handlers);
  }
  return false;
}

}  // namespace

Match Router::find(Method method, std::string_view path) const {
  const auto segs = segments(path);
  Searcher s{method, segs, path, {}, false, {}};
  std::vector<std::pair<std::string, std::string>> params;
  if (s.walk(root_.get(), 0, params)) return std::move(s.best);
  Match m;
  std::sort(s.allowed.begin(), s.allowed.end());
  s.allowed.erase(std::unique(s.allowed.begin(), s.allowed.end()), s.allowed.end());
  m.allowed = std::move(s.allowed);
  return m;
}

}  // namespace dragon::http
