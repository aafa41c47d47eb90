#include "libs/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/grpcx/testing/test_pki.h"
#include "libs/metrics/http_server.h"

namespace k8i::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

// RawConnection: a TCP connection to 127.0.0.1:port for sending arbitrary bytes.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        fd_ >= 0 && connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

  // ReadUntil reads until what was read (appended to `out`) contains `marker` (returns true),
  // the server closes the connection or `timeout` passes (both return false).
  bool ReadUntil(std::string_view marker, std::chrono::milliseconds timeout, std::string* out) {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (out->find(marker) == std::string::npos) {
      if (ReadOnce(deadline, out) != Read::kData) return false;
    }
    return true;
  }

  // ReadUntilClosed reads until the server closes the connection (returns true) or `timeout`
  // passes (returns false); what was read is appended to `out`.
  bool ReadUntilClosed(std::chrono::milliseconds timeout, std::string* out) {
    const Clock::time_point deadline = Clock::now() + timeout;
    for (;;) {
      switch (ReadOnce(deadline, out)) {
        case Read::kData:
          continue;
        case Read::kClosed:
          return true;
        case Read::kTimedOut:
          return false;
      }
    }
  }

 private:
  enum class Read { kData, kClosed, kTimedOut };

  // ReadOnce waits until `deadline` for bytes and appends them to `out`.
  Read ReadOnce(Clock::time_point deadline, std::string* out) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return Read::kTimedOut;
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return Read::kClosed;  // EOF or reset
      out->append(buf, static_cast<size_t>(n));
      return Read::kData;
    }
  }

  int fd_;
  bool connected_ = false;
};

std::unique_ptr<httplib::Client> LocalClient(int port) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  client->set_connection_timeout(std::chrono::seconds(2));
  client->set_read_timeout(std::chrono::seconds(10));
  return client;
}

TEST(MetricsServerTest, ServesMetricsAndHealthOnAPickedPort) {
  Registry registry;
  registry.AddCounter("served_total", "Served.", {"k"}).WithLabels({"v"}).Inc(7);
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_connection_timeout(std::chrono::seconds(2));
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/plain; version=0.0.4"));
  EXPECT_EQ(res->body, registry.Expose());
  EXPECT_THAT(res->body, HasSubstr("served_total{k=\"v\"} 7\n"));

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");

  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(MetricsServerTest, BindFailureIsUnavailableNamingTheAddress) {
  Registry registry;
  auto first = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsServer::Start(taken, registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(taken));
}

TEST(MetricsServerTest, MalformedAddressIsInvalidArgument) {
  Registry registry;
  for (const char* addr : {"no-port", "127.0.0.1:http", "127.0.0.1:70000", "[::1]9090"}) {
    auto s = MetricsServer::Start(addr, registry);
    ASSERT_FALSE(s.ok()) << addr;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << addr;
  }
}

TEST(MetricsServerTest, PlaintextOnlyOnLoopback) {
  Registry registry;
  for (const char* addr : {"0.0.0.0:0", ":0", "10.1.2.3:9090"}) {
    auto s = MetricsServer::Start(addr, registry);
    ASSERT_FALSE(s.ok()) << addr;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << addr;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("TLS is off")) << addr;
  }
  auto by_name = MetricsServer::Start("localhost:0", registry);
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  auto res = LocalClient((*by_name)->port())->Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST(MetricsServerTest, UnknownPathsAre404AndOtherMethods405) {
  Registry registry;
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = LocalClient((*server)->port());

  for (const char* path : {"/", "/nope", "/metricsx", "/metrics/"}) {
    auto get = client->Get(path);
    ASSERT_TRUE(get) << path;
    EXPECT_EQ(get->status, 404) << path;
  }
  auto post_unknown = client->Post("/nope", "x", "text/plain");
  ASSERT_TRUE(post_unknown);
  EXPECT_EQ(post_unknown->status, 404);

  auto post = client->Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  auto del = client->Delete("/healthz");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);

  auto head = client->Head("/metrics");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  auto query = client->Get("/healthz?verbose=1");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->status, 200);
  EXPECT_EQ(query->get_header_value("Content-Type"), "text/plain; charset=utf-8");
}

TEST(MetricsServerTest, KeepAliveServesPipelinedRequestsThenCloses) {
  Registry registry;
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  RawConnection conn((*server)->port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(
      conn.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string got;
  EXPECT_TRUE(conn.ReadUntilClosed(std::chrono::seconds(3), &got));
  size_t oks = 0;
  for (size_t at = got.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = got.find("HTTP/1.1 200 OK", at + 1)) {
    ++oks;
  }
  EXPECT_EQ(oks, 3u) << got;
}

TEST(MetricsServerTest, BadAndSlowClientsDoNotBlockScrapes) {
  Registry registry;
  registry.AddCounter("scrapes_total", "Scrapes.", {}).WithLabels({}).Inc();
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  RawConnection silent(port);
  ASSERT_TRUE(silent.connected());
  RawConnection unfinished(port);
  ASSERT_TRUE(unfinished.connected());
  ASSERT_TRUE(unfinished.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n"));

  constexpr char kGarbage[] = "\x16\x03\x01\x02\x00garbage\r\n\r\n";
  struct Bad {
    std::string request;
    std::string status_line;
  };
  const Bad bad[] = {
      {std::string(kGarbage, sizeof(kGarbage) - 1), "HTTP/1.1 400"},
      {"GET /metrics HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", "HTTP/1.1 431"},
      {"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", "HTTP/1.1 413"},
      {"GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400"},
  };
  for (const Bad& b : bad) {
    RawConnection conn(port);
    ASSERT_TRUE(conn.connected());
    conn.Send(b.request);  // the server may close before reading it all
    std::string got;
    EXPECT_TRUE(conn.ReadUntilClosed(std::chrono::seconds(3), &got)) << b.status_line;
    EXPECT_THAT(got, StartsWith(b.status_line));
  }

  const Clock::time_point before = Clock::now();
  auto res = LocalClient(port)->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("scrapes_total 1"));
  EXPECT_LT(Clock::now() - before, std::chrono::seconds(6));

  // The server drops both stalled connections after its 5 s read timeout, without a reply.
  std::string got;
  EXPECT_TRUE(unfinished.ReadUntilClosed(std::chrono::seconds(8), &got));
  EXPECT_EQ(got, "");
  EXPECT_TRUE(silent.ReadUntilClosed(std::chrono::seconds(2), &got));
  EXPECT_EQ(got, "");
}

TEST(MetricsServerTest, StopsPromptlyWithOpenConnections) {
  Registry registry;
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  RawConnection idle((*server)->port());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  RawConnection unfinished((*server)->port());
  ASSERT_TRUE(unfinished.connected());
  ASSERT_TRUE(unfinished.Send("GET /healthz HTTP/1.1\r\n"));
  std::string got;
  EXPECT_FALSE(idle.ReadUntilClosed(std::chrono::milliseconds(300), &got));
  EXPECT_THAT(got, StartsWith("HTTP/1.1 200 OK"));

  const Clock::time_point before = Clock::now();
  server->reset();
  EXPECT_LT(Clock::now() - before, std::chrono::milliseconds(4500));
  EXPECT_TRUE(idle.ReadUntilClosed(std::chrono::seconds(1), &got));
  EXPECT_TRUE(unfinished.ReadUntilClosed(std::chrono::seconds(1), &got));
}

class MetricsServerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string((std::filesystem::temp_directory_path() /
                            ("k8i-metrics-test-" + std::to_string(::getpid())))
                               .string());
    auto pki = grpcx::testing::CreateTestPki(*dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new grpcx::testing::TestPki(*std::move(pki));
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(*dir_, ignored);
    delete pki_;
    delete dir_;
  }

  static std::unique_ptr<httplib::SSLClient> TlsClient(int port, const std::string& ca) {
    auto client = std::make_unique<httplib::SSLClient>("localhost", port);
    client->set_ca_cert_path(ca.c_str());
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(std::chrono::seconds(2));
    client->set_read_timeout(std::chrono::seconds(10));
    return client;
  }

  static std::string* dir_;
  static grpcx::testing::TestPki* pki_;
};

std::string* MetricsServerTlsTest::dir_ = nullptr;
grpcx::testing::TestPki* MetricsServerTlsTest::pki_ = nullptr;

TEST_F(MetricsServerTlsTest, ServesHttpsAndSurvivesBadHandshakes) {
  Registry registry;
  registry.AddCounter("tls_total", "TLS.", {}).WithLabels({}).Inc(3);
  // TLS allows every interface; bind loopback anyway to keep the test local.
  auto server = MetricsServer::Start(
      "127.0.0.1:0", registry, {.cert_file = pki_->server_cert, .key_file = pki_->server_key});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  // Plaintext and garbage on the TLS port, and a client that does not trust the CA, all fail
  // alone.
  auto plain = LocalClient(port)->Get("/metrics");
  EXPECT_TRUE(!plain || plain->status != 200);
  RawConnection garbage(port);
  ASSERT_TRUE(garbage.connected());
  garbage.Send("\x16\x03\x01\x00\x05hello");
  RawConnection silent(port);
  ASSERT_TRUE(silent.connected());
  EXPECT_FALSE(TlsClient(port, pki_->other_ca_cert)->Get("/metrics"));

  auto client = TlsClient(port, pki_->ca_cert);
  auto res = client->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/plain; version=0.0.4"));
  EXPECT_EQ(res->body, registry.Expose());
  EXPECT_THAT(res->body, HasSubstr("tls_total 3\n"));
  auto health = client->Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->body, "ok");
  auto missing = client->Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

// Over TLS, a request refused from its head still gets its answer while its body keeps
// coming: the server reads and discards the rest before it closes (closing on unread data
// would reset the connection under the response).
TEST_F(MetricsServerTlsTest, HeadCheckRefusalReachesAClientStillSendingItsBody) {
  std::atomic<int> handled{0};
  auto server =
      HttpServer::Start("127.0.0.1:0",
                        [&](const HttpRequest&) {
                          ++handled;
                          return HttpResponse::Text(200, "ok\n");
                        },
                        {.tls = {.cert_file = pki_->server_cert, .key_file = pki_->server_key},
                         .what = "test",
                         .body_limit = 4 << 20,
                         .head_check = [](const HttpRequest&) -> std::optional<HttpResponse> {
                           return HttpResponse::Text(401, "who?\n");
                         }});
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = TlsClient((*server)->port(), pki_->ca_cert);
  for (int i = 0; i < 3; ++i) {
    auto r = client->Post("/write", std::string(2 << 20, 'a'), "application/octet-stream");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->body, "who?\n");
  }
  EXPECT_EQ(handled.load(), 0);
  server->reset();
}

TEST_F(MetricsServerTlsTest, UnusableCertificateFilesAreInvalidArgument) {
  Registry registry;
  const HttpTlsOptions bad[] = {
      {.cert_file = pki_->server_cert, .key_file = pki_->client_key},  // mismatched key
      {.cert_file = *dir_ + "/missing.crt", .key_file = pki_->server_key},
      {.cert_file = pki_->server_cert, .key_file = *dir_ + "/missing.key"},
      {.cert_file = pki_->server_key, .key_file = pki_->server_key},  // not a certificate
  };
  for (const HttpTlsOptions& tls : bad) {
    auto s = MetricsServer::Start("127.0.0.1:0", registry, tls);
    ASSERT_FALSE(s.ok()) << tls.cert_file << " " << tls.key_file;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("cannot load certificate"));
  }
}

TEST(MetricsServerTest, StartAndStopQuickly) {
  Registry registry;
  for (int i = 0; i < 20; ++i) {
    auto s = MetricsServer::Start("127.0.0.1:0", registry);
    ASSERT_TRUE(s.ok()) << s.status();
  }
}

}  // namespace
}  // namespace k8i::metrics

namespace k8i::metrics {
namespace {

// With two threads, a request waiting in its handler does not hold up another connection's:
// the first handler waits until the second has run (with one thread it would time out).
TEST(HttpServerTest, ThreadsServeConnectionsConcurrently) {
  absl::Notification first_entered, second_ran;
  std::atomic<bool> first_saw_second{false};
  auto server = HttpServer::Start(
      "127.0.0.1:0",
      [&](const HttpRequest& r) {
        if (r.path == "/first") {
          first_entered.Notify();
          first_saw_second = second_ran.WaitForNotificationWithTimeout(absl::Seconds(5));
        } else {
          second_ran.Notify();
        }
        return HttpResponse::Text(200, "ok\n");
      },
      {.what = "test", .threads = 2});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  std::thread first([port] {
    auto c = LocalClient(port);
    auto r = c->Get("/first");
    EXPECT_TRUE(r && r->status == 200);
  });
  // The second request starts once the first is inside its handler (with one thread it would
  // wait behind it).
  EXPECT_TRUE(first_entered.WaitForNotificationWithTimeout(absl::Seconds(5)));
  auto c = LocalClient(port);
  auto r = c->Get("/second");
  first.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(first_saw_second.load());
  server->reset();
}

// A head check answers from the request's head: a refused request's body is never read (the
// client gets its answer without sending it), an admitted one reaches the handler whole.
// StartAuthEcho starts a server whose head check refuses a request without an Authorization
// header (401 "who?") and whose handler counts requests in `handled` and answers with the body's
// size ("N bytes").
absl::StatusOr<std::unique_ptr<HttpServer>> StartAuthEcho(std::atomic<int>& handled) {
  return HttpServer::Start("127.0.0.1:0",
                           [&handled](const HttpRequest& r) {
                             ++handled;
                             return HttpResponse::Text(200,
                                                       absl::StrCat(r.body.size(), " bytes\n"));
                           },
                           {.what = "test",
                            .body_limit = 1 << 20,
                            .head_check = [](const HttpRequest& r) -> std::optional<HttpResponse> {
                              EXPECT_TRUE(r.body.empty());
                              if (r.Header("authorization") == nullptr)
                                return HttpResponse::Text(401, "who?\n");
                              return std::nullopt;
                            }});
}

TEST(HttpServerTest, HeadCheckAnswersBeforeTheBodyIsRead) {
  std::atomic<int> handled{0};
  auto server = StartAuthEcho(handled);
  ASSERT_TRUE(server.ok()) << server.status();
  RawConnection conn((*server)->port());
  ASSERT_TRUE(conn.connected());
  // The head promises 100,000 bytes that never come: the answer must not wait for them (the
  // server's read timeout is 5 s).
  ASSERT_TRUE(conn.Send("POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
  std::string out;
  EXPECT_TRUE(conn.ReadUntilClosed(std::chrono::milliseconds(2000), &out));
  EXPECT_THAT(out, StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(out, HasSubstr("who?"));
  EXPECT_EQ(handled.load(), 0);

  auto c = LocalClient((*server)->port());
  auto r = c->Post("/write", {{"Authorization", "Bearer x"}}, std::string(5000, 'a'),
                   "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "5000 bytes\n");
  EXPECT_EQ(handled.load(), 1);
  server->reset();
}

// "Expect: 100-continue" (RFC 9110, 10.1.1): the client holds its body back until the server
// says "100 Continue", which it does only for a head it accepts. A refused head gets its final
// answer instead, other expectations get 417, and HTTP/1.0 requests are served as if the field
// were not there.
TEST(HttpServerTest, ExpectContinueIsAnsweredOnlyForAnAcceptedHead) {
  std::atomic<int> handled{0};
  auto server = StartAuthEcho(handled);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string body(3000, 'a');
  {
    RawConnection conn((*server)->port());
    ASSERT_TRUE(conn.connected());
    ASSERT_TRUE(conn.Send(absl::StrCat("POST /write HTTP/1.1\r\nHost: x\r\nAuthorization: b\r\n",
                                       "Expect: 100-Continue\r\nContent-Length: ", body.size(),
                                       "\r\n\r\n")));
    std::string out;
    ASSERT_TRUE(conn.ReadUntil("\r\n\r\n", std::chrono::milliseconds(2000), &out)) << out;
    EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_TRUE(conn.Send(body));
    out.clear();
    ASSERT_TRUE(conn.ReadUntil("3000 bytes\n", std::chrono::milliseconds(2000), &out)) << out;
    EXPECT_THAT(out, StartsWith("HTTP/1.1 200"));
    // The connection stays usable: a second request on it, without the field.
    ASSERT_TRUE(
        conn.Send("POST /write HTTP/1.1\r\nHost: x\r\nAuthorization: b\r\n"
                  "Content-Length: 2\r\n\r\nab"));
    out.clear();
    ASSERT_TRUE(conn.ReadUntil("2 bytes\n", std::chrono::milliseconds(2000), &out)) << out;
  }
  EXPECT_EQ(handled.load(), 2);
  struct Case {
    std::string name, head, want;
    int handled;
  };
  const Case cases[] = {
      {"refused head: the final answer, no 100",
       "POST /write HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3000\r\n\r\n",
       "HTTP/1.1 401", 0},
      {"unknown expectation, no credential: the credential's answer first",
       "POST /write HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 3000\r\n\r\n",
       "HTTP/1.1 401", 0},
      {"unknown expectation: 417",
       "POST /write HTTP/1.1\r\nHost: x\r\nAuthorization: b\r\nExpect: 200-ok\r\n"
       "Content-Length: 3000\r\n\r\n",
       "HTTP/1.1 417", 0},
      {"HTTP/1.0: the field is ignored, the body read as sent",
       absl::StrCat("POST /write HTTP/1.0\r\nHost: x\r\nAuthorization: b\r\nExpect: 200-ok\r\n"
                    "Content-Length: 3000\r\n\r\n",
                    body),
       "HTTP/1.0 200", 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    handled = 0;
    RawConnection conn((*server)->port());
    ASSERT_TRUE(conn.connected());
    ASSERT_TRUE(conn.Send(c.head));
    std::string out;
    EXPECT_TRUE(conn.ReadUntilClosed(std::chrono::milliseconds(3000), &out));
    EXPECT_THAT(out, StartsWith(c.want));
    EXPECT_THAT(out, ::testing::Not(HasSubstr("100 Continue")));
    EXPECT_EQ(handled.load(), c.handled);
  }
  // Stopping while a client holds its body back after "100 Continue" does not hang: the
  // request gets the stop's grace, then the connection closes, and the handler never ran.
  handled = 0;
  RawConnection held((*server)->port());
  ASSERT_TRUE(held.connected());
  ASSERT_TRUE(
      held.Send("POST /write HTTP/1.1\r\nHost: x\r\nAuthorization: b\r\n"
                "Expect: 100-continue\r\nContent-Length: 10\r\n\r\n"));
  std::string out;
  ASSERT_TRUE(held.ReadUntil("100 Continue\r\n\r\n", std::chrono::milliseconds(2000), &out));
  const Clock::time_point before = Clock::now();
  server->reset();
  EXPECT_LT(Clock::now() - before, std::chrono::milliseconds(4500));
  EXPECT_TRUE(held.ReadUntilClosed(std::chrono::seconds(1), &out));
  EXPECT_EQ(handled.load(), 0);
}

// Stopping while several threads serve a stream of requests on many connections finishes
// promptly, and every request either got an answer or a closed connection.
TEST(HttpServerTest, StopsPromptlyUnderConcurrentLoad) {
  std::atomic<int> served{0};
  auto server = HttpServer::Start(
      "127.0.0.1:0",
      [&](const HttpRequest&) {
        served.fetch_add(1);
        return HttpResponse::Text(200, "ok\n");
      },
      {.what = "test", .max_connections = 32, .threads = 4});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([port, &stop] {
      auto c = LocalClient(port);
      c->set_keep_alive(true);
      while (!stop.load()) {
        auto r = c->Get("/x");
        if (r) {
          EXPECT_EQ(r->status, 200);
        }
      }
    });
  }
  // Load under way: some requests served.
  const Clock::time_point until = Clock::now() + std::chrono::seconds(10);
  while (served.load() < 200 && Clock::now() < until) std::this_thread::yield();
  EXPECT_GE(served.load(), 200);
  const Clock::time_point before = Clock::now();
  server->reset();
  EXPECT_LT(Clock::now() - before, std::chrono::milliseconds(4500));
  stop = true;
  for (auto& t : clients) t.join();
}

}  // namespace
}  // namespace k8i::metrics
