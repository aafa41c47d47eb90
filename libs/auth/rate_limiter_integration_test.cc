// RedisRateLimiter against a real Redis (K8I_TEST_REDIS_URL): the shared bucket under
// concurrent clients, EVAL after a script cache flush, and the in-process fallback when Redis
// is unreachable.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/auth/rate_limiter.h"
#include "libs/grpcx/status.h"
#include "libs/redis/client.h"
#include "libs/testing/stack.h"

namespace k8i::auth {
namespace {

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_REDIS_URL");
    auto client = redis::Client::Create({.url = k8i::testing::TestEnv("K8I_TEST_REDIS_URL")});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    ASSERT_TRUE(client_->Ping().ok());
    prefix_ = absl::StrCat("k8i:test:rl:", getpid(), ":", absl::ToUnixNanos(absl::Now()), ":");
  }

  std::unique_ptr<redis::Client> client_;
  std::string prefix_;
};

TEST_F(RedisRateLimiterTest, BurstThenLimitedWithRetryDelay) {
  RedisRateLimiter limiter(client_.get(), {.rate_per_second = 1, .burst = 5}, prefix_);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Acquire("t1").ok()) << i;
  absl::Status st = limiter.Acquire("t1");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  const absl::Duration delay = grpcx::GetRetryDelay(st);
  EXPECT_GT(delay, absl::Milliseconds(500));
  EXPECT_LE(delay, absl::Seconds(1));
  EXPECT_TRUE(limiter.Acquire("t2").ok());
  EXPECT_FALSE(limiter.Degraded());
  // The bucket lives in Redis with an expiry.
  auto ttl = client_->Command({"PTTL", prefix_ + "t1"});
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_GT(ttl->integer, 0);
}

TEST_F(RedisRateLimiterTest, ReloadsScriptAfterFlush) {
  RedisRateLimiter limiter(client_.get(), {.rate_per_second = 10, .burst = 10}, prefix_);
  ASSERT_TRUE(limiter.Acquire("k").ok());
  ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
  EXPECT_TRUE(limiter.Acquire("k").ok());
  EXPECT_FALSE(limiter.Degraded());
}

// 8 threads, each with its own connection and limiter (as separate replicas would be), hammer
// one key for 2 s at rate 50/s, burst 10: about 10 + 50 * 2 = 110 calls succeed in total.
TEST_F(RedisRateLimiterTest, ConcurrentClientsShareOneBucket) {
  constexpr int kThreads = 8;
  std::atomic<int> accepted{0}, rejected{0}, errors{0};
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto client = redis::Client::Create({.url = k8i::testing::TestEnv("K8I_TEST_REDIS_URL")});
      if (!client.ok()) {
        ++errors;
        return;
      }
      RedisRateLimiter limiter(client->get(), {.rate_per_second = 50, .burst = 10}, prefix_);
      while (absl::Now() < end) {
        absl::Status st = limiter.Acquire("shared");
        if (st.ok()) {
          ++accepted;
        } else if (absl::IsResourceExhausted(st)) {
          ++rejected;
        } else {
          ++errors;
        }
        if (limiter.Degraded()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  RecordProperty("accepted", accepted.load());
  RecordProperty("rejected", rejected.load());
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(rejected.load(), accepted.load()) << "the test did not saturate the bucket";
  EXPECT_GE(accepted.load(), 10 + 50 * 2 - 5);
  EXPECT_LE(accepted.load(), static_cast<int>(10 + 50 * secs) + 1)
      << "accepted " << accepted << " in " << secs << " s, rejected " << rejected;
}

TEST(RedisRateLimiterFallbackTest, ClosedPortFallsBackToLocalBucket) {
  // Port 1 on loopback: nothing listens, connections are refused at once.
  auto client = redis::Client::Create({.url = "redis://127.0.0.1:1/0"});
  ASSERT_TRUE(client.ok()) << client.status();
  k8i::testing::FakeClock clock;
  RedisRateLimiter limiter(client->get(), {.rate_per_second = 1, .burst = 3}, "k8i:rl:", &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Acquire("t").ok()) << i;
  EXPECT_TRUE(limiter.Degraded());
  absl::Status st = limiter.Acquire("t");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(grpcx::GetRetryDelay(st), absl::Seconds(1));
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(limiter.Acquire("t").ok());
}

}  // namespace
}  // namespace k8i::auth
