#include <gtest/gtest.h>

#include "http/gzip.hpp"
#include "http/service.hpp"

using namespace dragon::http;

namespace {
struct Fixture {
  Router router;
  std::unique_ptr<Service> service;
  explicit Fixture(ServiceOptions o = {}) {
    router.add(Method::Get, "/ping", [](Request&) { return Response::text(200, "pong"); }, {.access = Access::Public});
    router.add(Method::Get, "/api/v3/secret", [](Request& r) { return Response::text(200, "hello " + r.auth_subject); });
    router.add(Method::Get, "/api/v3/big", [](Request&) {
      return Response::json(200, std::string(5000, 'x'));
    });
    router.add(Method::Put, "/api/v3/small", [](Request& r) { return Response::text(200, r.body); },
               {.max_body = 10});
    router.add(Method::Get, "/api/v3/throws", [](Request&) -> Response { throw std::runtime_error("boom"); });
    if (o.cors.empty()) o.cors = {{"/api", {"*"}}, {"/", {"https://example.com"}}};
    service = std::make_unique<Service>(router, std::move(o), [](Request& req, Access) -> std::optional<Response> {
      if (req.header("Authorization") == std::optional<std::string_view>("Bearer good")) {
        req.auth_subject = "admin";
        return std::nullopt;
      }
      return Response::error(401, "Unauthorized", {"Missing or invalid JWT token"});
    });
  }
  Response run(Request req) {
    auto res = service->handle(req);
    service->finish(req, res, std::chrono::steady_clock::now());
    return res;
  }
};
Request make(Method m, std::string path) {
  Request r;
  r.method = m;
  r.path = path;
  r.target = path;
  r.remote_ip = "127.0.0.1";
  return r;
}
}  // namespace

TEST(HttpService, AuthRequiredAndErrorBodyShape) {
  Fixture f;
  auto res = f.run(make(Method::Get, "/api/v3/secret"));
  EXPECT_EQ(res.status, 401);
  auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(body["code"], 401);
  EXPECT_EQ(body["message"], "Unauthorized");
  EXPECT_EQ(body["details"][0], "Missing or invalid JWT token");
  EXPECT_EQ(res.headers.get("Content-Type"), std::optional<std::string_view>("application/json"));
  auto req = make(Method::Get, "/api/v3/secret");
  req.headers.set("Authorization", "Bearer good");
  res = f.run(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "hello admin");
}

TEST(HttpService, UnknownApiPathsNeedAuthBeforeRevealing404) {
  Fixture f;
  EXPECT_EQ(f.run(make(Method::Get, "/api/v3/nope")).status, 401);
  auto req = make(Method::Get, "/api/v3/nope");
  req.headers.set("Authorization", "Bearer good");
  EXPECT_EQ(f.run(req).status, 404);
  EXPECT_EQ(f.run(make(Method::Get, "/elsewhere")).status, 404);
}

TEST(HttpService, MethodNotAllowedListsAllow) {
  Fixture f;
  auto res = f.run(make(Method::Post, "/ping"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers.get("Allow"), std::optional<std::string_view>("GET"));
}

TEST(HttpService, CorsPreflightAndActualRequest) {
  Fixture f;
  auto pre = make(Method::Options, "/api/v3/secret");
  pre.headers.set("Origin", "https://ui.example");
  pre.headers.set("Access-Control-Request-Method", "GET");
  auto res = f.run(pre);
  EXPECT_EQ(res.status, 204);  // answered before auth: preflights carry no token
  EXPECT_EQ(res.headers.get("Access-Control-Allow-Origin"), std::optional<std::string_view>("https://ui.example"));
  ASSERT_TRUE(res.headers.get("Access-Control-Allow-Headers"));
  EXPECT_NE(res.headers.get("Access-Control-Allow-Headers")->find("Authorization"), std::string_view::npos);

  auto fs = make(Method::Get, "/ping");
  fs.headers.set("Origin", "https://evil.example");
  res = f.run(fs);
  EXPECT_FALSE(res.headers.has("Access-Control-Allow-Origin"));
  fs.headers.set("Origin", "https://example.com");
  res = f.run(fs);
  EXPECT_EQ(res.headers.get("Access-Control-Allow-Origin"), std::optional<std::string_view>("https://example.com"));
}

TEST(HttpService, GzipOnlyWhenAcceptedAndLargeEnough) {
  Fixture f;
  auto req = make(Method::Get, "/api/v3/big");
  req.headers.set("Authorization", "Bearer good");
  auto plain = f.run(req);
  EXPECT_FALSE(plain.headers.has("Content-Encoding"));
  req.headers.set("Accept-Encoding", "br, gzip;q=0.8");
  auto zipped = f.run(req);
  EXPECT_EQ(zipped.headers.get("Content-Encoding"), std::optional<std::string_view>("gzip"));
  auto back = gzip_decompress(zipped.body, 1 << 20);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, plain.body);
  req.headers.set("Accept-Encoding", "gzip;q=0");
  EXPECT_FALSE(f.run(req).headers.has("Content-Encoding"));
  auto small = make(Method::Get, "/ping");
  small.headers.set("Accept-Encoding", "gzip");
  EXPECT_FALSE(f.run(small).headers.has("Content-Encoding"));
}

TEST(HttpService, BodyLimitsDecidedBeforeBody) {
  Fixture f;
  auto req = make(Method::Put, "/api/v3/small");
  req.headers.set("Authorization", "Bearer good");
  req.headers.set("Content-Length", "11");
  auto d = f.service->before_body(req);
  ASSERT_TRUE(d.reject);
  EXPECT_EQ(d.reject->status, 413);
  req.headers.set("Content-Length", "10");
  d = f.service->before_body(req);
  EXPECT_FALSE(d.reject);
  EXPECT_EQ(d.max_body, 10u);
  // No token: refused before any body is read.
  auto anon = make(Method::Put, "/api/v3/small");
  anon.headers.set("Content-Length", "5");
  d = f.service->before_body(anon);
  ASSERT_TRUE(d.reject);
  EXPECT_EQ(d.reject->status, 401);
}

TEST(HttpService, IpAccessListsPerListener) {
  ServiceOptions o;
  o.http_access = dragon::util::IpAccessList({"10.0.0.0/8"}, {"10.0.0.66"});
  Fixture f(std::move(o));
  auto req = make(Method::Get, "/ping");
  req.remote_ip = "10.1.2.3";
  // /ping is ip-limited by default options in this fixture.
  EXPECT_EQ(f.run(req).status, 200);
  req.remote_ip = "10.0.0.66";
  EXPECT_EQ(f.run(req).status, 403);
  req.remote_ip = "192.168.1.1";
  EXPECT_EQ(f.run(req).status, 403);
  req.tls = true;  // the HTTPS listener has its own (empty) lists
  EXPECT_EQ(f.run(req).status, 200);
}

TEST(HttpService, HandlerExceptionBecomes500WithReason) {
  Fixture f;
  auto req = make(Method::Get, "/api/v3/throws");
  req.headers.set("Authorization", "Bearer good");
  auto res = f.run(req);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(nlohmann::json::parse(res.body)["details"][0], "boom");
}

TEST(HttpIpNetwork, ParseAndContain) {
  using dragon::util::IpAccessList;
  using dragon::util::IpAddress;
  using dragon::util::IpNetwork;
  auto n = IpNetwork::parse("192.168.0.0/16");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->contains(*IpAddress::parse("192.168.77.1")));
  EXPECT_FALSE(n->contains(*IpAddress::parse("192.169.0.1")));
  EXPECT_FALSE(n->contains(*IpAddress::parse("::1")));
  auto v6 = IpNetwork::parse("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*IpAddress::parse("2001:db8:1::5")));
  EXPECT_FALSE(IpNetwork::parse("10.0.0.0/33"));
  EXPECT_FALSE(IpNetwork::parse("not-an-ip"));
  EXPECT_FALSE(IpNetwork::parse("10.0.0.0/"));
  EXPECT_TRUE(IpAddress::parse("::ffff:127.0.0.1")->is_loopback());
  EXPECT_THROW(IpAccessList({"bad"}, {}), std::invalid_argument);
  IpAccessList l({}, {"127.0.0.1/32"});
  EXPECT_FALSE(l.allowed("127.0.0.1"));
  EXPECT_TRUE(l.allowed("127.0.0.2"));
  EXPECT_FALSE(l.allowed("garbage"));
}
