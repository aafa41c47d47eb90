// Integration tests of Client against a real Redis named by K8I_TEST_REDIS_URL (skipped when
// unset). If K8I_TEST_REDIS_CTL is set, it is a shell command prefix to which " stop" and
// " start" are appended to stop and restart that Redis, for the reconnection test.
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/redis/client.h"

namespace k8i::redis {
namespace {

using ::testing::HasSubstr;

std::string EnvOr(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// WithDb returns `url` pointing at database `db` instead.
std::string WithDb(const std::string& url, int db) {
  const size_t authority = url.find("://") + 3;
  const size_t slash = url.find('/', authority);
  return absl::StrCat(url.substr(0, slash), "/", db);
}

class ClientIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = EnvOr("K8I_TEST_REDIS_URL");
    if (url_.empty()) GTEST_SKIP() << "K8I_TEST_REDIS_URL is not set; no Redis to test against";
    auto client = Client::Create({.url = url_, .reconnect_backoff = absl::Milliseconds(200)});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    ASSERT_TRUE(client_->Ping().ok()) << "Redis at K8I_TEST_REDIS_URL does not answer";
    prefix_ = absl::StrCat("k8i:test:redis:", getpid(), ":", absl::ToUnixNanos(absl::Now()), ":",
                           ::testing::UnitTest::GetInstance()->current_test_info()->name(), ":");
  }

  void TearDown() override {
    if (client_ == nullptr) return;
    for (const std::string& k : keys_) (void)client_->Command({"DEL", k});
  }

  // Key returns a key unique to this test run, deleted in TearDown.
  std::string Key(const std::string& suffix) {
    keys_.push_back(prefix_ + suffix);
    return keys_.back();
  }

  std::string url_;
  std::string prefix_;
  std::vector<std::string> keys_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientIntegrationTest, PingConnects) {
  EXPECT_TRUE(client_->Connected());
  EXPECT_TRUE(client_->Ping().ok());
}

TEST_F(ClientIntegrationTest, SetGetRoundTrip) {
  const std::string k = Key("plain");
  auto missing = client_->Get(k);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(*missing, std::nullopt);

  ASSERT_TRUE(client_->Set(k, "hello").ok());
  auto got = client_->Get(k);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::optional<std::string>("hello"));

  ASSERT_TRUE(client_->Set(k, "").ok());
  EXPECT_EQ(*client_->Get(k), std::optional<std::string>(""));

  auto ttl = client_->Command({"PTTL", k});
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->integer, -1);  // no expiry
}

TEST_F(ClientIntegrationTest, SetWithTtlExpires) {
  const std::string k = Key("ttl");
  ASSERT_TRUE(client_->Set(k, "v", absl::Seconds(30)).ok());
  auto ttl = client_->Command({"PTTL", k});
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  ASSERT_EQ(ttl->type, Reply::Type::kInteger);
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 30000);

  const std::string short_lived = Key("short");
  ASSERT_TRUE(client_->Set(short_lived, "v", absl::Microseconds(50500)).ok());  // rounds to 51ms
  absl::SleepFor(absl::Milliseconds(250));
  EXPECT_EQ(*client_->Get(short_lived), std::nullopt);
}

TEST_F(ClientIntegrationTest, CommandReplyTypes) {
  auto pong = client_->Command({"PING"});
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->type, Reply::Type::kStatus);
  EXPECT_EQ(pong->str, "PONG");

  const std::string counter = Key("counter");
  auto incr = client_->Command({"INCRBY", counter, "41"});
  ASSERT_TRUE(incr.ok());
  EXPECT_EQ(incr->type, Reply::Type::kInteger);
  EXPECT_EQ(incr->integer, 41);
  EXPECT_EQ(client_->Command({"INCR", counter})->integer, 42);

  const std::string list = Key("list");
  ASSERT_TRUE(client_->Command({"RPUSH", list, "a", "b", "c"}).ok());
  auto range = client_->Command({"LRANGE", list, "0", "-1"});
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->type, Reply::Type::kArray);
  ASSERT_EQ(range->elements.size(), 3u);
  EXPECT_EQ(range->elements[1].type, Reply::Type::kString);
  EXPECT_EQ(range->elements[1].str, "b");

  auto nil = client_->Command({"GET", Key("absent")});
  ASSERT_TRUE(nil.ok());
  EXPECT_EQ(nil->type, Reply::Type::kNil);

  auto wrongtype = client_->Get(list);
  EXPECT_EQ(wrongtype.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(wrongtype.status().message()), HasSubstr("WRONGTYPE"));
  auto unknown = client_->Command({"NOSUCHCOMMAND"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kFailedPrecondition);
  // An error reply leaves the connection usable.
  EXPECT_TRUE(client_->Connected());
  EXPECT_TRUE(client_->Ping().ok());
}

TEST_F(ClientIntegrationTest, BinaryValuesWithNulBytes) {
  const std::string k = Key(std::string("bin\0key", 7));
  std::string value("a\0b\r\n\xff\0", 7);
  value += std::string(1000, '\0');
  ASSERT_TRUE(client_->Set(k, value).ok());
  auto got = client_->Get(k);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, value);
  EXPECT_EQ(client_->Command({"STRLEN", k})->integer, static_cast<int64_t>(value.size()));
  // The NUL in the key matters: the truncated key does not exist.
  EXPECT_EQ(*client_->Get(prefix_ + "bin"), std::nullopt);
}

TEST_F(ClientIntegrationTest, ConcurrentCallersShareOneClient) {
  const std::string k = Key("concurrent");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, &k] {
      for (int i = 0; i < kPerThread; ++i) ASSERT_TRUE(client_->Command({"INCR", k}).ok());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(*client_->Get(k), std::optional<std::string>(std::to_string(kThreads * kPerThread)));
}

// A fresh client's first calls, made at once, all succeed: they wait for the first connect
// instead of failing as if Redis were down (which logged a false outage at every start).
TEST_F(ClientIntegrationTest, FirstConcurrentCallsWaitForTheFirstConnect) {
  for (int round = 0; round < 5; ++round) {
    auto fresh = Client::Create({.url = url_, .reconnect_backoff = absl::Seconds(5)});
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    constexpr int kThreads = 8;
    absl::Notification go;
    std::vector<absl::Status> results(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        go.WaitForNotification();
        results[t] = (*fresh)->Ping();
      });
    }
    go.Notify();
    for (auto& th : threads) th.join();
    for (const auto& r : results) EXPECT_TRUE(r.ok()) << "round " << round << ": " << r;
  }
}

TEST_F(ClientIntegrationTest, SelectsTheDatabaseFromTheUrl) {
  auto opts = ParseUrl(url_);
  ASSERT_TRUE(opts.ok());
  const int other_db = opts->db == 1 ? 2 : 1;
  auto other = Client::Create({.url = WithDb(url_, other_db)});
  ASSERT_TRUE(other.ok()) << other.status();
  const std::string k = Key("db");
  ASSERT_TRUE(client_->Set(k, "mine").ok());
  EXPECT_EQ(*(*other)->Get(k), std::nullopt);
  ASSERT_TRUE((*other)->Set(k, "other", absl::Seconds(60)).ok());
  EXPECT_EQ(*client_->Get(k), std::optional<std::string>("mine"));
  (void)(*other)->Command({"DEL", k});
}

TEST_F(ClientIntegrationTest, WrongPasswordIsFailedPrecondition) {
  auto opts = ParseUrl(url_);
  ASSERT_TRUE(opts.ok());
  if (opts->password.empty()) GTEST_SKIP() << "K8I_TEST_REDIS_URL has no password";
  const size_t authority = url_.find("://") + 3;
  const std::string bad =
      absl::StrCat(url_.substr(0, authority), ":wrong-password@", opts->Endpoint());
  auto client = Client::Create({.url = bad});
  ASSERT_TRUE(client.ok()) << client.status();
  absl::Status s = (*client)->Ping();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("AUTH"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("wrong-password")));
  EXPECT_FALSE((*client)->Connected());
}

TEST_F(ClientIntegrationTest, RecoversAfterRedisRestart) {
  const std::string ctl = EnvOr("K8I_TEST_REDIS_CTL");
  if (ctl.empty()) GTEST_SKIP() << "K8I_TEST_REDIS_CTL is not set; cannot stop/start Redis";
  ASSERT_TRUE(client_->Ping().ok());

  ASSERT_EQ(std::system((ctl + " stop").c_str()), 0) << ctl << " stop";
  // The first call may find the dead socket (I/O error) or the refused reconnect.
  absl::Status down = client_->Ping();
  for (int i = 0; i < 50 && down.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    down = client_->Ping();
  }
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  const absl::Time start = absl::Now();
  EXPECT_EQ(client_->Get("k").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100)) << "calls must fail fast while down";
  EXPECT_FALSE(client_->Connected());

  ASSERT_EQ(std::system((ctl + " start").c_str()), 0) << ctl << " start";
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  absl::Status up = client_->Ping();
  while (!up.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    up = client_->Ping();
  }
  ASSERT_TRUE(up.ok()) << "client did not recover within 5s: " << up;
  EXPECT_TRUE(client_->Connected());
  const std::string k = Key("after-restart");
  ASSERT_TRUE(client_->Set(k, "back").ok());
  EXPECT_EQ(*client_->Get(k), std::optional<std::string>("back"));
}

}  // namespace
}  // namespace k8i::redis
