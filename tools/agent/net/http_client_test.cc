// HttpClient against cpp-httplib servers (test-only): URL parsing, headers sent, a body
// delivered as it streams, timeouts of a stalled server, Cancel, refused connections. TLS
// material and verification are covered through KubeClient (kube/client_test.cc) and the
// Prometheus collector (collectors/prometheus_collector_test.cc).
#include "tools/agent/net/http_client.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::agent::net {
namespace {

using ::testing::HasSubstr;

TEST(ParseHttpUrlTest, Forms) {
  auto u = ParseHttpUrl("https://api.example:6443/api/v1/pods?limit=5");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "api.example");
  EXPECT_EQ(u->port, 6443);
  EXPECT_EQ(u->target, "/api/v1/pods?limit=5");
  u = ParseHttpUrl("http://10.0.0.1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  u = ParseHttpUrl("https://[fd00::1]/metrics");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "fd00::1");
  EXPECT_EQ(u->port, 443);
  for (const char* bad : {"localhost:9100", "ftp://x/", "http:///metrics", "http://h:0/",
                          "http://h:70000/", "http://h:x/", "http://[fd00::1/", "http://[::1]x/"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
  }
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/hello", [this](const httplib::Request& req, httplib::Response& res) {
      seen_auth_ = req.get_header_value("Authorization");
      seen_host_ = req.get_header_value("Host");
      res.status = 201;
      res.set_content("hi there", "text/plain");
    });
    // Three pieces with pauses: the client must hand each over as it arrives.
    server_.Get("/stream", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
        for (const char* piece : {"one\n", "two\n", "three\n"}) {
          sink.write(piece, std::strlen(piece));
          std::this_thread::sleep_for(std::chrono::milliseconds(150));
        }
        sink.done();
        return true;
      });
    });
    // Headers at once, then silence (a watch with no events).
    server_.Get("/stall", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [this](size_t, httplib::DataSink& sink) {
        sink.write("x\n", 2);
        while (!stop_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        sink.done();
        return true;
      });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    stop_ = true;
    server_.stop();
    thread_.join();
  }
  std::unique_ptr<HttpClient> Client() {
    auto c = HttpClient::Create(false, "127.0.0.1", port_);
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::string seen_auth_, seen_host_;
};

TEST_F(HttpClientTest, StatusHeadersAndBody) {
  auto c = Client();
  int status = 0;
  std::string body;
  absl::Status s = c->Get(
      {.target = "/hello", .headers = {{"Authorization", "Bearer t"}}},
      [&](int st) { status = st; },
      [&](absl::string_view d) {
        body.append(d.data(), d.size());
        return true;
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(status, 201);
  EXPECT_EQ(body, "hi there");
  EXPECT_EQ(seen_auth_, "Bearer t");
  EXPECT_EQ(seen_host_, "127.0.0.1:" + std::to_string(port_));
  status = 0;
  s = c->Get(
      {.target = "/missing"}, [&](int st) { status = st; }, [](absl::string_view) { return true; });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(status, 404);
}

TEST_F(HttpClientTest, BodyPiecesArriveAsTheyAreSent) {
  auto c = Client();
  std::vector<std::pair<std::string, absl::Time>> pieces;
  absl::Status s = c->Get(
      {.target = "/stream"}, [](int) {},
      [&](absl::string_view d) {
        pieces.emplace_back(std::string(d), absl::Now());
        return true;
      });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_GE(pieces.size(), 3u);
  std::string all;
  for (const auto& p : pieces) all += p.first;
  EXPECT_EQ(all, "one\ntwo\nthree\n");
  EXPECT_GE(pieces.back().second - pieces.front().second, absl::Milliseconds(250));
  // on_data returning false ends the request at once.
  int calls = 0;
  s = c->Get(
      {.target = "/stream"}, [](int) {}, [&](absl::string_view) { return ++calls < 1; });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(calls, 1);
}

TEST_F(HttpClientTest, SilentServerTimesOut) {
  auto c = Client();
  const absl::Time start = absl::Now();
  absl::Status s = c->Get(
      {.target = "/stall", .read_timeout = absl::Milliseconds(300)}, [](int) {},
      [](absl::string_view) { return true; });
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("timed out"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(HttpClientTest, TotalTimeoutBoundsATricklingBody) {
  // /stream sends a piece every 150 ms: each read is quick, the whole is not.
  auto c = Client();
  const absl::Time start = absl::Now();
  absl::Status s = c->Get(
      {.target = "/stream", .total_timeout = absl::Milliseconds(200)}, [](int) {},
      [](absl::string_view) { return true; });
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("timed out"));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(400));
}

TEST(HttpClientHostileTest, EndlessChunkSizeLineIsAnErrorNotUnboundedMemory) {
  // A raw server: a chunked response whose first chunk-size line never ends.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> sent{0};
  std::thread server([&] {
    const int conn = ::accept(fd, nullptr, nullptr);
    if (conn < 0) return;
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    ::send(conn, head.data(), head.size(), MSG_NOSIGNAL);
    const std::string ones(16384, '1');
    while (!stop.load() && sent.load() < (int64_t{64} << 20)) {
      const ssize_t n = ::send(conn, ones.data(), ones.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += n;
    }
    ::close(conn);
  });
  auto c = HttpClient::Create(false, "127.0.0.1", ntohs(a.sin_port));
  ASSERT_TRUE(c.ok());
  absl::Status s = (*c)->Get(
      {.target = "/"}, [](int) {}, [](absl::string_view) { return true; });
  stop = true;
  server.join();
  ::close(fd);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_LT(sent.load(), int64_t{16} << 20) << "the client kept reading an endless line";
}

TEST_F(HttpClientTest, CancelEndsAStreamAndLaterRequests) {
  auto c = Client();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    c->Cancel();
  });
  const absl::Time start = absl::Now();
  absl::Status s = c->Get(
      {.target = "/stall"}, [](int) {}, [](absl::string_view) { return true; });
  canceller.join();
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  s = c->Get(
      {.target = "/hello"}, [](int) {}, [](absl::string_view) { return true; });
  EXPECT_TRUE(absl::IsCancelled(s)) << s;
}

TEST_F(HttpClientTest, RefusedConnectionNamesTheAddress) {
  auto c = HttpClient::Create(false, "127.0.0.1", 1);
  ASSERT_TRUE(c.ok());
  absl::Status s = (*c)->Get(
      {.target = "/"}, [](int) {}, [](absl::string_view) { return true; });
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("127.0.0.1:1"));
}

TEST(HttpClientCreateTest, BadTlsMaterialIsRefused) {
  EXPECT_FALSE(HttpClient::Create(true, "h", 443, {.ca_pem = "not pem"}).ok());
  EXPECT_FALSE(HttpClient::Create(true, "h", 443, {.ca_file = "/nonexistent.pem"}).ok());
  EXPECT_FALSE(HttpClient::Create(true, "h", 443, {.cert_pem = "x"}).ok());
  EXPECT_FALSE(HttpClient::Create(false, "", 80).ok());
  EXPECT_TRUE(HttpClient::Create(true, "h", 443).ok());  // system CAs
}

}  // namespace
}  // namespace k8i::agent::net
