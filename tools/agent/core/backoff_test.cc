#include "tools/agent/core/backoff.h"

#include "gtest/gtest.h"

namespace k8i::agent {
namespace {

TEST(BackoffTest, DoublesUpToTheCapWithoutJitter) {
  Backoff b({.initial = absl::Seconds(2), .max = absl::Seconds(30), .jitter = 0}, 1);
  const int64_t want[] = {2, 4, 8, 16, 30, 30};
  for (int64_t w : want) EXPECT_EQ(b.Next(), absl::Seconds(w));
  b.Reset();
  EXPECT_EQ(b.Next(), absl::Seconds(2));
}

TEST(BackoffTest, JitterStretchesWithinBounds) {
  Backoff b({.initial = absl::Seconds(2), .max = absl::Seconds(60), .jitter = 0.2}, 7);
  absl::Duration base = absl::Seconds(2);
  bool varied = false;
  for (int i = 0; i < 5; ++i, base = std::min(base * 2, absl::Seconds(60))) {
    const absl::Duration d = b.Next();
    EXPECT_GE(d, base);
    EXPECT_LT(d, base * 1.2);
    varied |= d != base;
  }
  EXPECT_TRUE(varied);
}

TEST(BackoffTest, ServerHintWinsButIsBounded) {
  Backoff b({.initial = absl::Seconds(2), .max = absl::Seconds(30), .jitter = 0}, 1);
  EXPECT_EQ(b.Next(absl::Milliseconds(500)), absl::Milliseconds(500));
  EXPECT_EQ(b.Next(absl::Seconds(45)), absl::Seconds(45));  // above max: the server knows
  EXPECT_EQ(b.Next(absl::Hours(5)), absl::Minutes(10));
  EXPECT_EQ(b.Next(), absl::Seconds(16));  // attempts kept counting
}

}  // namespace
}  // namespace k8i::agent
