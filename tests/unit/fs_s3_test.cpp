// S3Filesystem against a real local S3 server: npm s3rver started by tests/peers/s3rver_start.mjs,
// which also verifies every AWS Signature V4 (s3rver alone does not), so these requests are checked
// the way AWS checks them. Skipped (with the reason) only when node or s3rver is not installed.
#include "fs/s3.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "util/run_command.hpp"

namespace dragon::fs {
namespace {

using namespace std::chrono_literals;

constexpr const char* k_secret = "S3RVER-secret/+=key";

// One s3rver for the whole suite; each test uses buckets of its own.
class S3rverProcess {
 public:
  // Empty string on success, else why it could not start (the suite then skips or fails).
  std::string start() {
    const std::string node = util::find_executable("node");
    if (node.empty()) return "skip: node is not installed";
    const std::string src = DRAGON_SOURCE_DIR;
    if (!std::filesystem::exists(src + "/web/node_modules/s3rver/package.json")) {
      return "skip: npm s3rver is not installed in web/node_modules (run scripts/install-deps.sh)";
    }
    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) return "pipe failed";
    const std::string script = src + "/tests/peers/s3rver_start.mjs";
    pid_ = fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(in[0], 0);
      dup2(out[1], 1);
      execl(node.c_str(), "node", script.c_str(), "--port", "0", "--bucket", "dragon", "--access-key", "S3RVER",
            "--secret-key", k_secret, static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    close(in[0]);
    stdin_ = in[1];
    out_ = out[0];
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (line.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return "s3rver did not report its port within 30 s";
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[512];
      const auto n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return "s3rver exited before reporting its port (see stderr)";
      line.append(buf, static_cast<std::size_t>(n));
    }
    const auto j = nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr, false);
    if (!j.is_object() || !j.contains("port")) return "s3rver printed no port: " + line;
    port_ = j["port"].get<int>();
    return {};
  }
  void stop() {
    if (pid_ <= 0) return;
    close(stdin_);  // the launcher exits when its stdin closes
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    close(out_);
    pid_ = -1;
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, out_ = -1;
  int port_ = 0;
};

S3rverProcess* g_server = nullptr;
std::string g_start_error;

class S3FsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (g_server) return;
    g_server = new S3rverProcess;
    g_start_error = g_server->start();
  }
  static void TearDownTestSuite() {
    if (g_server) g_server->stop();
    delete g_server;
    g_server = nullptr;
  }
  void SetUp() override {
    if (g_start_error.rfind("skip: ", 0) == 0) GTEST_SKIP() << g_start_error.substr(6);
    ASSERT_TRUE(g_start_error.empty()) << g_start_error;
  }

  S3Options options(const std::string& bucket) const {
    S3Options o;
    o.endpoint = "127.0.0.1:" + std::to_string(g_server->port());
    o.bucket = bucket;
    o.region = "us-east-1";
    o.access_key_id = "S3RVER";
    o.secret_access_key = k_secret;
    o.usage_cache = 0ms;
    return o;
  }
  // A fresh bucket per test (s3rver: 3-63 lowercase letters, digits, '-').
  std::unique_ptr<S3Filesystem> fresh(S3Options o = {}) {
    static std::atomic<int> n{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string bucket = "t" + std::to_string(++n) + "-";
    for (char c : std::string(info->name())) {
      if (bucket.size() >= 60) break;
      bucket += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
    }
    if (o.endpoint.empty()) o = options(bucket);
    o.bucket = bucket;
    auto fs = std::make_unique<S3Filesystem>("s3test", o);
    const auto err = fs->ensure_bucket();
    EXPECT_EQ(err, "");
    return fs;
  }
};

TEST(S3FsStatic, KeysAndPrefixes) {
  EXPECT_EQ(S3Filesystem::key_for("/a/b.ts"), "a/b.ts");
  EXPECT_EQ(S3Filesystem::key_for("a//./b.ts"), "a/b.ts");
  EXPECT_EQ(S3Filesystem::key_for("/../../etc/passwd"), "etc/passwd");
  EXPECT_EQ(S3Filesystem::key_for("/%2e%2e/x"), "%2e%2e/x");  // literal, never decoded
  EXPECT_FALSE(S3Filesystem::key_for("/"));
  EXPECT_FALSE(S3Filesystem::key_for("/.."));
  EXPECT_FALSE(S3Filesystem::key_for(std::string("/a\0b", 4)));
  EXPECT_EQ(S3Filesystem::list_prefix_for("/live/seg_*.ts"), "live/seg_");
  EXPECT_EQ(S3Filesystem::list_prefix_for("/a/{x,y}"), "a/");
  EXPECT_EQ(S3Filesystem::list_prefix_for("/a\\*b"), "a");
  EXPECT_EQ(S3Filesystem::list_prefix_for("/**"), "");
  EXPECT_EQ(S3Filesystem::list_prefix_for("/plain.txt"), "plain.txt");
  EXPECT_EQ(S3Filesystem::list_prefix_for("no-slash*"), "");
  EXPECT_EQ(S3Filesystem::list_prefix_for("/a/../b*"), "");
  EXPECT_EQ(S3Filesystem::list_prefix_for("//a*"), "");
}

TEST(S3FsStatic, ConstructorRefusesBadOptionsWithoutQuotingTheSecret) {
  S3Options o;
  o.endpoint = "127.0.0.1:9000";
  o.bucket = "b";
  o.access_key_id = "AK";
  o.secret_access_key = "TOPSECRET";
  EXPECT_NO_THROW(S3Filesystem("ok", o));
  auto message = [&](S3Options bad, std::string name = "s3") {
    try {
      S3Filesystem fs(std::move(name), std::move(bad));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  auto with = [&](auto change) {
    S3Options c = o;
    change(c);
    return c;
  };
  EXPECT_NE(message(o, ""), "no exception");
  EXPECT_NE(message(with([](S3Options& c) { c.endpoint.clear(); })).find("endpoint is empty"), std::string::npos);
  EXPECT_NE(message(with([](S3Options& c) { c.endpoint = "host:9000/path"; })).find("without a path"), std::string::npos);
  EXPECT_NE(message(with([](S3Options& c) { c.endpoint = "AK:TOPSECRET@host"; })).find("without a path"), std::string::npos);
  EXPECT_NE(message(with([](S3Options& c) { c.bucket.clear(); })).find("bucket is empty"), std::string::npos);
  EXPECT_NE(message(with([](S3Options& c) { c.bucket = "a/b"; })).find("invalid bucket"), std::string::npos);
  EXPECT_NE(message(with([](S3Options& c) { c.region = "us:east"; })).find("invalid region"), std::string::npos);
  EXPECT_NE(message(with([](S3Options& c) {
              c.bucket = "Not_DNS";
              c.addressing = S3Options::Addressing::VirtualHost;
            })).find("DNS-compatible"),
            std::string::npos);
  for (const auto& m : {message(with([](S3Options& c) { c.endpoint = "AK:TOPSECRET@host"; }))}) {
    EXPECT_EQ(m.find("TOPSECRET"), std::string::npos) << m;
  }
  // Scheme prefixes are tolerated.
  EXPECT_NO_THROW(S3Filesystem("ok", with([](S3Options& c) { c.endpoint = "https://s3.example.com"; })));
}

TEST_F(S3FsTest, WriteReadStatListRemove) {
  auto fs = fresh();
  EXPECT_EQ(fs->type(), "s3");
  EXPECT_EQ(fs->name(), "s3test");
  const auto before = Clock::now() - 2s;
  auto w = fs->write("/live/a.ts", "hello");
  ASSERT_TRUE(w) << w.message;
  EXPECT_TRUE(w.created);
  w = fs->write("/live/a.ts", "hello, again");
  ASSERT_TRUE(w) << w.message;
  EXPECT_FALSE(w.created);
  ASSERT_TRUE(fs->write("/live/b.m3u8", "#EXTM3U\n"));
  ASSERT_TRUE(fs->write("/top.ts", "t"));
  ASSERT_TRUE(fs->write("/live/sub/deep.ts", "deep"));

  const auto c = fs->read("/live/a.ts");
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->data);
  EXPECT_EQ(*c->data, "hello, again");
  EXPECT_EQ(c->info.name, "/live/a.ts");
  EXPECT_EQ(c->info.size, 12u);
  EXPECT_GE(c->info.mtime, before);
  EXPECT_LE(c->info.mtime, Clock::now() + 2s);
  EXPECT_TRUE(c->host_path.empty());

  const auto st = fs->stat("//live/./a.ts");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->name, "/live/a.ts");
  EXPECT_EQ(st->size, 12u);
  EXPECT_GE(st->mtime, before);
  EXPECT_FALSE(fs->stat("/live/missing.ts"));
  EXPECT_FALSE(fs->stat("/live"));  // a "directory" is no object
  EXPECT_FALSE(fs->read("/live/missing.ts"));

  auto names = [](const std::vector<FileInfo>& v) {
    std::vector<std::string> n;
    for (const auto& f : v) n.push_back(f.name);
    std::sort(n.begin(), n.end());
    return n;
  };
  EXPECT_EQ(names(fs->list()),
            (std::vector<std::string>{"/live/a.ts", "/live/b.m3u8", "/live/sub/deep.ts", "/top.ts"}));
  EXPECT_EQ(names(fs->list("/live/*.ts")), (std::vector<std::string>{"/live/a.ts"}));
  EXPECT_EQ(names(fs->list("/live/**")),
            (std::vector<std::string>{"/live/a.ts", "/live/b.m3u8", "/live/sub/deep.ts"}));
  EXPECT_EQ(names(fs->list("/*.ts")), (std::vector<std::string>{"/top.ts"}));
  EXPECT_EQ(names(fs->list("/**.ts")), (std::vector<std::string>{"/live/a.ts", "/live/sub/deep.ts", "/top.ts"}));
  EXPECT_TRUE(fs->list("/nothing/*").empty());
  EXPECT_TRUE(fs->list("/[unbalanced").empty());
  for (const auto& f : fs->list()) {
    if (f.name == "/live/b.m3u8") {
      EXPECT_EQ(f.size, 8u);
    }
    EXPECT_GE(f.mtime, before);
  }

  EXPECT_TRUE(fs->remove("/live/a.ts"));
  EXPECT_FALSE(fs->remove("/live/a.ts"));
  EXPECT_FALSE(fs->remove("/never-existed"));
  EXPECT_FALSE(fs->stat("/live/a.ts"));
  EXPECT_FALSE(fs->read("/live/a.ts"));
  EXPECT_EQ(names(fs->list("/live/*")), (std::vector<std::string>{"/live/b.m3u8"}));
  EXPECT_EQ(fs->last_error(), "");
}

TEST_F(S3FsTest, ListingPagesThroughContinuationTokens) {
  S3Options o = options("x");
  o.list_page_size = 7;  // 40 objects = 6 pages; S3's own page is 1000
  auto fs = fresh(o);
  for (int i = 0; i < 33; ++i) ASSERT_TRUE(fs->write("/p_" + std::to_string(i) + ".ts", std::string(i, 'x')));
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(fs->write("/q/" + std::to_string(i), "q"));
  const auto all = fs->list();
  EXPECT_EQ(all.size(), 40u);
  std::set<std::string> unique;
  for (const auto& f : all) unique.insert(f.name);
  EXPECT_EQ(unique.size(), 40u);  // no page repeated or skipped
  const auto p = fs->list("/p_*.ts");
  ASSERT_EQ(p.size(), 33u);
  std::uint64_t bytes = 0;
  for (const auto& f : p) bytes += f.size;
  EXPECT_EQ(bytes, 32u * 33u / 2u);
  EXPECT_EQ(fs->list("/q/*").size(), 7u);
  const auto u = fs->usage();
  EXPECT_EQ(u.files, 40u);
  EXPECT_EQ(u.bytes, bytes + 7u);
  EXPECT_EQ(u.limit, 0u);
}

TEST_F(S3FsTest, UsageIsCached) {
  S3Options o = options("x");
  o.usage_cache = 1h;
  auto fs = fresh(o);
  ASSERT_TRUE(fs->write("/a", "1234"));
  EXPECT_EQ(fs->usage().bytes, 4u);
  ASSERT_TRUE(fs->write("/b", "12"));
  EXPECT_EQ(fs->usage().bytes, 4u);  // cached
  EXPECT_EQ(fs->usage().files, 1u);
}

TEST_F(S3FsTest, PathsAreCleanedAndOddNamesRoundTrip) {
  auto fs = fresh();
  // Traversal stays inside the bucket: "/../x" is "/x".
  ASSERT_TRUE(fs->write("/../x", "root"));
  ASSERT_TRUE(fs->stat("/x"));
  EXPECT_EQ(*fs->read("/a/../../x")->data, "root");
  // Percent signs are literal names, never decoded into "..".
  ASSERT_TRUE(fs->write("/a/%2e%2e/b", "lit"));
  EXPECT_FALSE(fs->stat("/b"));
  EXPECT_EQ(*fs->read("/a/%2e%2e/b")->data, "lit");
  // Characters that need care in URLs and in SigV4's canonical request.
  const std::vector<std::string> odd = {"/sp ace.ts",  "/plus+sign", "/q?uery=1&x", "/hash#frag", "/semi;colon,comma",
                                        "/ünïcödé/€.m3u8", "/tilde~_-.x", "/star*[brackets]{b}", "/quote\"'", "/back\\slash",
                                        "/pct%25%", "/dollar$@!()"};
  for (const auto& p : odd) {
    const auto w = fs->write(p, "v:" + p);
    ASSERT_TRUE(w) << p << ": " << w.message;
    const auto c = fs->read(p);
    ASSERT_TRUE(c) << p << ": " << fs->last_error();
    EXPECT_EQ(*c->data, "v:" + p);
    ASSERT_TRUE(fs->stat(p)) << p;
  }
  std::set<std::string> listed;
  for (const auto& f : fs->list()) listed.insert(f.name);
  for (const auto& p : odd) EXPECT_TRUE(listed.count(p)) << p;
  EXPECT_TRUE(listed.count("/x"));
  EXPECT_TRUE(listed.count("/a/%2e%2e/b"));
  for (const auto& p : odd) EXPECT_TRUE(fs->remove(p)) << p;

  // Invalid paths never reach S3.
  for (const std::string& bad : {std::string("/a\0b", 4), std::string("/"), std::string(""), std::string("/.."),
                                "/" + std::string(300, 'n')}) {
    const auto w = fs->write(bad, "x");
    EXPECT_FALSE(w);
    EXPECT_EQ(w.error, WriteError::InvalidPath);
    EXPECT_FALSE(fs->stat(bad));
    EXPECT_FALSE(fs->read(bad));
    EXPECT_FALSE(fs->remove(bad));
  }
}

TEST_F(S3FsTest, BinaryContentIsByteExact) {
  auto fs = fresh();
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  all_bytes += std::string("\0\0\r\n\r\n", 6);
  ASSERT_TRUE(fs->write("/bytes.bin", all_bytes));
  EXPECT_EQ(*fs->read("/bytes.bin")->data, all_bytes);

  std::mt19937_64 rng(42);
  std::string big(3 * 1024 * 1024 + 17, '\0');  // > 1 MiB: curl's Expect: 100-continue threshold
  for (auto& ch : big) ch = static_cast<char>(rng());
  const auto w = fs->write("/big.bin", big);
  ASSERT_TRUE(w) << w.message;
  const auto c = fs->read("/big.bin");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->data->size(), big.size());
  EXPECT_TRUE(*c->data == big);
  EXPECT_EQ(fs->stat("/big.bin")->size, big.size());

  ASSERT_TRUE(fs->write("/empty", ""));
  const auto e = fs->read("/empty");
  ASSERT_TRUE(e);
  EXPECT_EQ(*e->data, "");
  EXPECT_EQ(fs->stat("/empty")->size, 0u);
}

TEST_F(S3FsTest, WrongSecretGivesAClearErrorWithoutTheSecret) {
  // The launcher's bucket "dragon", written with the right secret first.
  S3Filesystem good("good", options("dragon"));
  ASSERT_TRUE(good.write("/kept", "v"));
  S3Options bad = options("dragon");
  bad.secret_access_key = "wrong-secret-WRONG";
  S3Filesystem fs("wrong", bad);
  const auto w = fs.write("/x", "data");
  EXPECT_FALSE(w);
  EXPECT_EQ(w.error, WriteError::Io);
  EXPECT_NE(w.message.find("403"), std::string::npos) << w.message;
  EXPECT_NE(w.message.find("SignatureDoesNotMatch"), std::string::npos) << w.message;
  EXPECT_EQ(w.message.find("wrong-secret-WRONG"), std::string::npos) << w.message;
  EXPECT_EQ(w.message.find(k_secret), std::string::npos) << w.message;
  EXPECT_FALSE(fs.read("/kept"));
  EXPECT_NE(fs.last_error().find("SignatureDoesNotMatch"), std::string::npos) << fs.last_error();
  EXPECT_TRUE(fs.list().empty());
  EXPECT_NE(fs.last_error().find("SignatureDoesNotMatch"), std::string::npos) << fs.last_error();
  EXPECT_FALSE(fs.remove("/kept"));
  EXPECT_NE(fs.ensure_bucket(), "");

  S3Options unknown = options("dragon");
  unknown.access_key_id = "NOBODY";
  S3Filesystem fs2("unknown", unknown);
  const auto w2 = fs2.write("/x", "data");
  EXPECT_FALSE(w2);
  EXPECT_NE(w2.message.find("InvalidAccessKeyId"), std::string::npos) << w2.message;

  // Nothing was written or removed; the right secret still works on the same bucket.
  EXPECT_FALSE(good.stat("/x"));
  EXPECT_EQ(*good.read("/kept")->data, "v");
  EXPECT_TRUE(good.remove("/kept"));
}

TEST_F(S3FsTest, EnsureBucketCreatesAndReportsErrors) {
  S3Filesystem fs("nb", options("brand-new-bucket"));
  EXPECT_FALSE(fs.write("/a", "x"));  // NoSuchBucket
  EXPECT_NE(fs.last_error().find("NoSuchBucket"), std::string::npos) << fs.last_error();
  EXPECT_EQ(fs.ensure_bucket(), "");
  EXPECT_EQ(fs.ensure_bucket(), "");  // idempotent
  EXPECT_TRUE(fs.write("/a", "x"));
  S3Filesystem bad("bad", options("Invalid_Bucket_Name"));
  const auto err = bad.ensure_bucket();
  EXPECT_NE(err, "");
  EXPECT_NE(err.find("Invalid_Bucket_Name"), std::string::npos) << err;
}

TEST_F(S3FsTest, ServerDownGivesAClearErrorWithinTheTimeout) {
  // A port with nothing listening: connection refused, at once.
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int closed_port = ntohs(a.sin_port);
  close(s);
  S3Options o = options("dragon");
  o.endpoint = "127.0.0.1:" + std::to_string(closed_port);
  o.connect_timeout = 1000ms;
  o.request_timeout = 1500ms;
  S3Filesystem down("down", o);
  auto t0 = std::chrono::steady_clock::now();
  const auto w = down.write("/x", "data");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_FALSE(w);
  EXPECT_EQ(w.error, WriteError::Io);
  EXPECT_NE(w.message.find("S3 HEAD dragon/x"), std::string::npos) << w.message;
  EXPECT_NE(w.message.find("onnect"), std::string::npos) << w.message;  // "Couldn't connect" / "Failed to connect"
  EXPECT_FALSE(down.stat("/x"));
  EXPECT_TRUE(down.list().empty());
  EXPECT_EQ(down.usage().files, 0u);

  // A server that accepts connections and never answers: the total timeout ends the request.
  int l = socket(AF_INET, SOCK_STREAM, 0);
  a.sin_port = 0;
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(l, 16), 0);
  len = sizeof a;
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  o.endpoint = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  S3Filesystem silent("silent", o);
  t0 = std::chrono::steady_clock::now();
  const auto w2 = silent.write("/x", "data");
  const auto took = std::chrono::steady_clock::now() - t0;
  close(l);
  EXPECT_FALSE(w2);
  EXPECT_GE(took, 1400ms);
  EXPECT_LT(took, 5s);
  EXPECT_NE(w2.message.find("timed out"), std::string::npos) << w2.message;
}

TEST_F(S3FsTest, ConcurrentWritersAndReaders) {
  auto fs = fresh();
  constexpr int k_threads = 8, k_files = 12;
  std::atomic<int> failures{0};
  std::vector<std::string> errors(k_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      auto fail = [&](const std::string& what) {
        ++failures;
        if (errors[static_cast<std::size_t>(t)].empty()) errors[static_cast<std::size_t>(t)] = what;
      };
      for (int i = 0; i < k_files; ++i) {
        const std::string path = "/t" + std::to_string(t) + "/f" + std::to_string(i);
        const std::string data = std::string(static_cast<std::size_t>(100 + t * 10 + i), static_cast<char>('a' + t));
        const auto w = fs->write(path, data);
        if (!w || !w.created) fail("write " + path + ": " + w.message);
        const auto c = fs->read(path);
        if (!c || *c->data != data) fail("read " + path);
        // A shared object everyone overwrites at once: every PUT succeeds. (Reading it while others
        // replace it is not checked: s3rver stats then opens the file, so a GET can get a short body,
        // which we report as an error; S3 itself serves whole objects.)
        if (!fs->write("/shared", data)) fail("write /shared");
        if (i % 3 == 0 && !fs->remove(path)) fail("remove " + path);
      }
      if (fs->list("/t" + std::to_string(t) + "/*").size() != static_cast<std::size_t>(k_files - (k_files + 2) / 3)) {
        fail("list of thread " + std::to_string(t));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const auto shared = fs->read("/shared");
  ASSERT_TRUE(shared) << fs->last_error();
  ASSERT_FALSE(shared->data->empty());
  EXPECT_EQ(shared->data->find_first_not_of(shared->data->front()), std::string::npos);  // one writer's whole data
  EXPECT_EQ(shared->data->size(), 100u + static_cast<std::size_t>(shared->data->front() - 'a') * 10u + k_files - 1u);
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(fs->list().size(), static_cast<std::size_t>(k_threads * (k_files - (k_files + 2) / 3) + 1));
}

}  // namespace
}  // namespace dragon::fs
