// HttpSender against a real local HTTP receiver (loopback, allowlisted where the case needs
// it): statuses, Retry-After, the body cap, timeouts, and the SSRF checks before and after
// name resolution.
#include "services/notification/sender/http_sender.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace k8i::notification {
namespace {

class Receiver {
 public:
  Receiver() {
    server_.Post("/ok", [this](const httplib::Request& req, httplib::Response& res) {
      last_body_ = req.body;
      last_signature_ = req.get_header_value("webhook-signature");
      res.set_content("{\"status\":\"success\"}", "application/json");
    });
    server_.Post("/fail", [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
    // Says which client port (so which connection) the request came on.
    server_.Post("/peer", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(std::to_string(req.remote_port), "text/plain");
    });
    server_.Post("/busy", [](const httplib::Request&, httplib::Response& res) {
      res.status = 429;
      res.set_header("Retry-After", "3");
    });
    server_.Post("/huge", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1 << 20, 'z'), "text/plain");
    });
    // Answers only once the test is done with it (long after the client's timeout).
    server_.Post("/slow", [this](const httplib::Request&, httplib::Response& res) {
      release_slow_.WaitForNotificationWithTimeout(absl::Seconds(30));
      res.set_content("late", "text/plain");
    });
    // The sender keeps connections open; stopping waits for idle ones this long.
    server_.set_keep_alive_timeout(1);
    server_.set_read_timeout(1, 0);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Until the accept loop runs, stop() would not reach it (and the destructor would hang).
    for (const absl::Time until = absl::Now() + absl::Seconds(10);
         !server_.is_running() && absl::Now() < until;) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  ~Receiver() {
    if (!release_slow_.HasBeenNotified()) release_slow_.Notify();
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const { return absl::StrCat("http://127.0.0.1:", port_, path); }
  int port() const { return port_; }
  std::string last_body_, last_signature_;

 private:
  httplib::Server server_;
  absl::Notification release_slow_;
  int port_ = 0;
  std::thread thread_;
};

HttpSenderOptions Loopback() {
  HttpSenderOptions o;
  o.policy.allow = {*Cidr::Parse("127.0.0.0/8")};
  o.timeout = absl::Seconds(5);
  return o;
}

TEST(HttpSenderTest, StatusesRetryAfterAndHeaders) {
  Receiver r;
  HttpSender s(Loopback());
  HttpResult ok = s.Post({r.Url("/ok"), {{"webhook-signature", "v1,abc"}}, "{\"a\":1}"});
  EXPECT_EQ(ok.attempt.status, 200) << ok.attempt.error;
  EXPECT_EQ(ok.body, "{\"status\":\"success\"}");
  EXPECT_EQ(r.last_body_, "{\"a\":1}");
  EXPECT_EQ(r.last_signature_, "v1,abc");
  EXPECT_EQ(s.Post({r.Url("/fail"), {}, "{}"}).attempt.status, 500);
  HttpResult busy = s.Post({r.Url("/busy"), {}, "{}"});
  EXPECT_EQ(busy.attempt.status, 429);
  EXPECT_EQ(busy.attempt.retry_after, "3");
}

TEST(HttpSenderTest, BodyIsCappedAndSlowReceiversTimeOut) {
  Receiver r;
  HttpSenderOptions o = Loopback();
  o.max_response = 1000;
  o.timeout = absl::Milliseconds(300);
  HttpSender s(o);
  HttpResult huge = s.Post({r.Url("/huge"), {}, "{}"});
  EXPECT_EQ(huge.attempt.status, 200) << huge.attempt.error;
  EXPECT_EQ(huge.body.size(), 1000u);
  EXPECT_TRUE(huge.body_truncated);
  HttpResult slow = s.Post({r.Url("/slow"), {}, "{}"});
  EXPECT_EQ(slow.attempt.status, 0);
  EXPECT_NE(slow.attempt.error.find("imeout"), std::string::npos) << slow.attempt.error;
  EXPECT_FALSE(slow.refused);
}

TEST(HttpSenderTest, TargetsAreCheckedBeforeAndAfterResolution) {
  Receiver r;
  HttpSender strict({});  // nothing allowlisted
  // A literal loopback URL is refused before anything is sent.
  HttpResult direct = strict.Post({r.Url("/ok"), {}, "{}"});
  EXPECT_TRUE(direct.refused);
  EXPECT_EQ(direct.attempt.status, 0);
  // A public-looking name that resolves to loopback is refused at connect time.
  HttpSenderOptions o;
  o.resolve = {absl::StrCat("hooks.example.test:", r.port(), ":127.0.0.1")};
  HttpSender rebinding(o);
  HttpResult sneaky =
      rebinding.Post({absl::StrCat("https://hooks.example.test:", r.port(), "/ok"), {}, "{}"});
  EXPECT_TRUE(sneaky.refused) << sneaky.attempt.error;
  EXPECT_NE(sneaky.attempt.error.find("loopback"), std::string::npos) << sneaky.attempt.error;
  EXPECT_TRUE(r.last_body_.empty());  // nothing reached the receiver
}

TEST(HttpSenderTest, ConnectionsAreReusedButNeverAcrossSenders) {
  Receiver r;
  HttpSender s(Loopback());
  const HttpResult first = s.Post({r.Url("/peer"), {}, "{}"});
  const HttpResult second = s.Post({r.Url("/peer"), {}, "{}"});
  ASSERT_EQ(first.attempt.status, 200) << first.attempt.error;
  ASSERT_EQ(second.attempt.status, 200) << second.attempt.error;
  EXPECT_EQ(first.body, second.body) << "the second post opened a new connection";
  // The same thread, a sender whose policy refuses loopback: the open connection must not
  // carry its post past the check.
  HttpSender strict({});
  EXPECT_TRUE(strict.Post({r.Url("/peer"), {}, "{}"}).refused);
  HttpSenderOptions o;
  o.resolve = {absl::StrCat("hooks.example.test:", r.port(), ":127.0.0.1")};
  HttpSender rebinding(o);
  const HttpResult sneaky =
      rebinding.Post({absl::StrCat("http://hooks.example.test:", r.port(), "/peer"), {}, "{}"});
  EXPECT_TRUE(sneaky.refused) << sneaky.attempt.error;
  EXPECT_EQ(sneaky.attempt.status, 0);
}

}  // namespace
}  // namespace k8i::notification
