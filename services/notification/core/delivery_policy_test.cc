// Retry decisions, backoff, Retry-After, the circuit breaker and the token bucket, on a fake
// timeline.
#include "services/notification/core/delivery_policy.h"

#include "gtest/gtest.h"

namespace k8i::notification {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(DecideTest, TableOfOutcomes) {
  struct Case {
    const char* name;
    AttemptResult result;
    int attempt;
    Next want;
    absl::Duration wait;  // checked when >= 0
  };
  const RetryPolicy p;
  const std::vector<Case> cases = {
      {"2xx is delivered", {202, "", ""}, 1, Next::kDelivered, absl::ZeroDuration()},
      {"a network error is retried", {0, "connection refused", ""}, 1, Next::kRetry, -absl::Seconds(1)},
      {"5xx is retried", {503, "", ""}, 2, Next::kRetry, -absl::Seconds(1)},
      {"408 is retried", {408, "", ""}, 1, Next::kRetry, -absl::Seconds(1)},
      {"429 honours Retry-After seconds", {429, "", "7"}, 1, Next::kRetry, absl::Seconds(7)},
      {"429 honours an HTTP date", {429, "", "Fri, 15 Jan 2027 08:00:30 GMT"}, 1, Next::kRetry,
       absl::Seconds(30)},
      {"a huge Retry-After is capped", {503, "", "864000"}, 1, Next::kRetry, absl::Hours(1)},
      {"other 4xx fail at once", {400, "", ""}, 1, Next::kFailed, absl::ZeroDuration()},
      {"404 fails at once", {404, "", "10"}, 1, Next::kFailed, absl::ZeroDuration()},
      {"the budget spent dead-letters", {500, "", ""}, 8, Next::kDeadLetter, absl::ZeroDuration()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Decision d = Decide(c.result, c.attempt, p, kNow, "delivery-1");
    EXPECT_EQ(d.next, c.want) << d.reason;
    if (c.wait >= absl::ZeroDuration()) {
      EXPECT_EQ(d.wait, c.wait) << d.reason;
    }
    EXPECT_FALSE(d.reason.empty());
  }
  EXPECT_EQ(Decide({0, "timeout", ""}, 1, p, kNow, "k").reason.rfind("no response: timeout", 0), 0u);
}

TEST(BackoffTest, DoublesWithinEqualJitterUpToTheCapAndIsReproducible) {
  const RetryPolicy p{.max_attempts = 20, .base = absl::Seconds(1), .cap = absl::Seconds(60)};
  for (int n = 1; n <= 12; ++n) {
    absl::Duration d = absl::Seconds(1);
    for (int i = 1; i < n; ++i) d = std::min(d * 2, absl::Seconds(60));
    const absl::Duration w = Backoff(n, p, "delivery-1");
    EXPECT_GE(w, d / 2) << n;
    EXPECT_LT(w, d) << n;
    EXPECT_EQ(w, Backoff(n, p, "delivery-1")) << n;  // same delivery, same schedule
  }
  int differ = 0;
  for (int k = 0; k < 20; ++k) {
    differ += Backoff(5, p, "a" + std::to_string(k)) != Backoff(5, p, "b" + std::to_string(k));
  }
  EXPECT_GT(differ, 15);  // deliveries do not retry in lockstep
}

TEST(RetryAfterTest, Forms) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", kNow), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Fri, 15 Jan 2027 07:00:00 GMT", kNow), absl::ZeroDuration());  // past
  EXPECT_FALSE(ParseRetryAfter("", kNow).has_value());
  EXPECT_FALSE(ParseRetryAfter("-3", kNow).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", kNow).has_value());
}

TEST(CircuitBreakerTest, OpensAfterTheThresholdProbesOnceAndCloses) {
  CircuitBreaker b(3, absl::Seconds(30));
  absl::Time t = kNow;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.Allow(t));
    b.Record(false, t);
  }
  absl::Time retry;
  EXPECT_EQ(b.state(t), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.Allow(t + absl::Seconds(29), &retry));
  EXPECT_EQ(retry, t + absl::Seconds(30));
  t += absl::Seconds(30);
  EXPECT_EQ(b.state(t), CircuitBreaker::State::kHalfOpen);
  EXPECT_TRUE(b.Allow(t));   // the probe
  EXPECT_FALSE(b.Allow(t));  // only one
  b.Record(false, t);        // the probe failed: open again
  EXPECT_FALSE(b.Allow(t + absl::Seconds(1)));
  t += absl::Seconds(30);
  EXPECT_TRUE(b.Allow(t));
  b.Record(true, t);
  EXPECT_EQ(b.state(t), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.Allow(t));
}

TEST(TokenBucketTest, QueuesInsteadOfDropping) {
  TokenBucket slack(1.0, 1.0);  // about one message a second
  EXPECT_EQ(slack.Reserve(kNow), kNow);
  EXPECT_EQ(slack.Reserve(kNow), kNow + absl::Seconds(1));
  EXPECT_EQ(slack.Reserve(kNow), kNow + absl::Seconds(2));
  // Three seconds later the queue has drained and the bucket refilled (up to its burst).
  EXPECT_EQ(slack.Reserve(kNow + absl::Seconds(5)), kNow + absl::Seconds(5));
  // Each reservation gets its own slot, 1/rate after the one before.
  TokenBucket webhook(2.0, 1.0);
  EXPECT_EQ(webhook.Reserve(kNow), kNow);
  EXPECT_EQ(webhook.Reserve(kNow), kNow + absl::Milliseconds(500));
  EXPECT_EQ(webhook.Reserve(kNow + absl::Milliseconds(100)), kNow + absl::Seconds(1));
  // A caller whose clock lags the last refill still goes at once when there is a token.
  TokenBucket roomy(100.0, 100.0);
  EXPECT_EQ(roomy.Reserve(kNow + absl::Milliseconds(1)), kNow + absl::Milliseconds(1));
  EXPECT_EQ(roomy.Reserve(kNow), kNow);
  TokenBucket burst(2.0, 4.0);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(burst.Reserve(kNow), kNow);
  EXPECT_EQ(burst.Reserve(kNow), kNow + absl::Milliseconds(500));
}

}  // namespace
}  // namespace k8i::notification
