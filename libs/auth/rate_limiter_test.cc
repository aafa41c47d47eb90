#include "libs/auth/rate_limiter.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/grpcx/status.h"
#include "libs/testing/stack.h"

namespace k8i::auth {
namespace {

using ::testing::HasSubstr;

class LocalRateLimiterTest : public ::testing::Test {
 protected:
  k8i::testing::FakeClock clock_;
  LocalRateLimiter limiter_{{.rate_per_second = 5, .burst = 10}, &clock_};
};

TEST_F(LocalRateLimiterTest, BurstThenRate) {
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter_.Acquire("t1").ok()) << i;
  absl::Status st = limiter_.Acquire("t1");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(st.message(), HasSubstr("t1"));
  EXPECT_EQ(grpcx::GetRetryDelay(st), absl::Milliseconds(200));

  clock_.Advance(absl::Milliseconds(199));
  EXPECT_FALSE(limiter_.Acquire("t1").ok());
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(limiter_.Acquire("t1").ok());
  EXPECT_FALSE(limiter_.Acquire("t1").ok());

  // One simulated minute at 10 calls/s admits the rate, 5/s.
  int accepted = 0;
  for (int i = 0; i < 600; ++i) {
    clock_.Advance(absl::Milliseconds(100));
    accepted += limiter_.Acquire("t1").ok();
  }
  EXPECT_EQ(accepted, 300);
}

TEST_F(LocalRateLimiterTest, KeysAreIndependent) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter_.Acquire("a").ok());
  EXPECT_FALSE(limiter_.Acquire("a").ok());
  EXPECT_TRUE(limiter_.Acquire("b").ok());
}

TEST_F(LocalRateLimiterTest, RefillCapsAtBurst) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter_.Acquire("a").ok());
  clock_.Advance(absl::Hours(1));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter_.Acquire("a").ok()) << i;
  EXPECT_FALSE(limiter_.Acquire("a").ok());
}

TEST_F(LocalRateLimiterTest, CostAndRetryDelay) {
  EXPECT_TRUE(limiter_.Acquire("a", 8).ok());
  absl::Status st = limiter_.Acquire("a", 4);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(grpcx::GetRetryDelay(st), absl::Milliseconds(400));  // needs 2 more tokens at 5/s
  EXPECT_EQ(limiter_.Acquire("a", 11).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(limiter_.Acquire("a", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(limiter_.Acquire("a", -1).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(LocalRateLimiterTest, ClockGoingBackwardsGrantsNothing) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter_.Acquire("a").ok());
  clock_.Advance(-absl::Seconds(10));
  EXPECT_FALSE(limiter_.Acquire("a").ok());
}

TEST(LocalRateLimiterPruneTest, MemoryStaysBounded) {
  k8i::testing::FakeClock clock;
  LocalRateLimiter limiter({.rate_per_second = 1, .burst = 1}, &clock, /*max_keys=*/100);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(limiter.Acquire(std::to_string(i)).ok());
    clock.Advance(absl::Milliseconds(100));  // each bucket is full again 1 s later
  }
  // Keys used in the last second are still limited.
  EXPECT_FALSE(limiter.Acquire("9999").ok());
}

}  // namespace
}  // namespace k8i::auth
