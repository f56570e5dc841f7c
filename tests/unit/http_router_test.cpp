#include <gtest/gtest.h>

#include "http/router.hpp"

using namespace dragon::http;

namespace {
Handler tag(std::string name) {
  return [name](Request&) { return Response::text(200, name); };
}
std::string call(const Router& r, Method m, std::string_view path) {
  auto match = r.find(m, path);
  if (!match.route) return match.allowed.empty() ? "404" : "405";
  Request req;
  return match.route->handler(req).body;
}
}  // namespace

TEST(HttpRouter, StaticParamAndWildcardPriority) {
  Router r;
  r.add(Method::Get, "/api/v3/process", tag("list"));
  r.add(Method::Get, "/api/v3/process/{id}", tag("one"));
  r.add(Method::Get, "/api/v3/process/{id}/state", tag("state"));
  r.add(Method::Get, "/api/v3/process/special", tag("special"));
  r.add(Method::Get, "/api/v3/fs/{name}/{path*}", tag("file"));
  r.add(Method::Get, "/{path*}", tag("disk"));
  EXPECT_EQ(call(r, Method::Get, "/api/v3/process"), "list");
  EXPECT_EQ(call(r, Method::Get, "/api/v3/process/abc"), "one");
  EXPECT_EQ(call(r, Method::Get, "/api/v3/process/special"), "special");
  EXPECT_EQ(call(r, Method::Get, "/api/v3/process/abc/state"), "state");
  EXPECT_EQ(call(r, Method::Get, "/api/v3/fs/mem/a/b.ts"), "file");
  EXPECT_EQ(call(r, Method::Get, "/index.html"), "disk");
  EXPECT_EQ(call(r, Method::Get, "/"), "disk");
  // A path under a static prefix that matches nothing falls back to the root wildcard.
  EXPECT_EQ(call(r, Method::Get, "/api/v3/process/abc/unknown"), "disk");
}

TEST(HttpRouter, SpecificRouteWithOtherMethodsBeatsTheRootWildcard) {
  Router r;
  r.add(Method::Post, "/api/v3/whep/{id}", tag("whep"));
  r.add(Method::Get, "/{path*}", tag("disk"));
  EXPECT_EQ(call(r, Method::Get, "/api/v3/whep/live"), "405");
  EXPECT_EQ(r.find(Method::Get, "/api/v3/whep/live").allowed, (std::vector<Method>{Method::Post}));
  EXPECT_EQ(call(r, Method::Post, "/api/v3/whep/live"), "whep");
  EXPECT_EQ(call(r, Method::Get, "/api/v3/whep/live/extra"), "disk");
  EXPECT_EQ(call(r, Method::Get, "/api/v3/whep"), "disk");
}

TEST(HttpRouter, ParamsAndWildcardValues) {
  Router r;
  r.add(Method::Put, "/api/v3/process/{id}/metadata/{key}", tag("meta"));
  r.add(Method::Get, "/memfs/{path*}", tag("mem"));
  auto m = r.find(Method::Put, "/api/v3/process/p1/metadata/k2");
  ASSERT_NE(m.route, nullptr);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"id", "p1"}));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"key", "k2"}));
  m = r.find(Method::Get, "/memfs/dir/seg 1.ts");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.back().second, "dir/seg 1.ts");
  m = r.find(Method::Get, "/memfs/");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.back().second, "");
}

TEST(HttpRouter, MethodNotAllowedAndHeadFallback) {
  Router r;
  r.add(Method::Get, "/api/v3/config", tag("get"));
  r.add(Method::Put, "/api/v3/config", tag("put"));
  EXPECT_EQ(call(r, Method::Delete, "/api/v3/config"), "405");
  auto m = r.find(Method::Delete, "/api/v3/config");
  EXPECT_EQ(m.allowed, (std::vector<Method>{Method::Get, Method::Put}));
  EXPECT_EQ(call(r, Method::Head, "/api/v3/config"), "get");
  EXPECT_EQ(call(r, Method::Get, "/api/v3/nothing"), "404");
}

TEST(HttpRouter, EmptySegmentDoesNotMatchParam) {
  Router r;
  r.add(Method::Get, "/api/v3/process/{id}", tag("one"));
  EXPECT_EQ(call(r, Method::Get, "/api/v3/process/"), "404");
}

TEST(HttpRouter, RejectsBadPatternsAndDuplicates) {
  Router r;
  r.add(Method::Get, "/a/{x}", tag("a"));
  EXPECT_THROW(r.add(Method::Get, "/a/{x}", tag("dup")), std::invalid_argument);
  EXPECT_THROW(r.add(Method::Get, "/a/{y}/z", tag("conflict")), std::invalid_argument);
  EXPECT_THROW(r.add(Method::Get, "/w/{rest*}/more", tag("bad")), std::invalid_argument);
  EXPECT_THROW(r.add(Method::Get, "nope", tag("bad")), std::invalid_argument);
  EXPECT_EQ(r.routes().size(), 1u);
}
