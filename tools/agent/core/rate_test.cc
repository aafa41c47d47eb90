#include "tools/agent/core/rate.h"

#include <limits>

#include "gtest/gtest.h"

namespace k8i::agent {
namespace {

constexpr uint64_t kMax32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

TEST(CounterDeltaTest, Table) {
  struct Case {
    const char* name;
    uint64_t prev, cur;
    CounterWidth width;
    uint64_t want;
  };
  const Case cases[] = {
      {"growth", 100, 250, CounterWidth::kAuto, 150},
      {"unchanged", 7, 7, CounterWidth::k64, 0},
      {"32-bit wrap", kMax32 - 9, 5, CounterWidth::k32, 15},
      {"32-bit wrap guessed", kMax32 - 295, 1000, CounterWidth::kAuto, 1296},
      {"32-bit wrap at exactly max", kMax32, 0, CounterWidth::k32, 1},
      {"64-bit wrap", kMax64 - 615, 384, CounterWidth::k64, 1000},
      {"64-bit wrap guessed", kMax64 - 615, 384, CounterWidth::kAuto, 1000},
      {"reset small", 500, 100, CounterWidth::kAuto, 100},
      {"reset to zero", 123456, 0, CounterWidth::k64, 0},
      {"reset of a big 64-bit counter", uint64_t{1} << 40, 10, CounterWidth::kAuto, 10},
      {"32-bit reset from mid range", kMax32 / 3, 10, CounterWidth::k32, 10},
      {"32-bit width but value beyond 32 bits", uint64_t{1} << 33, 5, CounterWidth::k32, 5},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CounterDelta(c.prev, c.cur, c.width), c.want) << c.name;
  }
}

TEST(RateTrackerTest, RatesNeedTwoReadingsAndAdvancingTime) {
  RateTracker r;
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  EXPECT_EQ(r.Rate("a", 100, t0), std::nullopt);
  EXPECT_EQ(r.Rate("a", 300, t0 + absl::Seconds(10)), 20.0);
  EXPECT_EQ(r.Rate("a", 400, t0 + absl::Seconds(10)), std::nullopt);  // no time passed
  EXPECT_EQ(r.Rate("a", 50, t0 + absl::Seconds(15)), 10.0);           // reset: 50 in 5 s
  EXPECT_EQ(r.Rate("b", 1, t0), std::nullopt);
  EXPECT_EQ(r.size(), 2u);
  r.Sweep(t0 + absl::Seconds(1));
  EXPECT_EQ(r.size(), 1u);  // "b" was last read at t0
}

TEST(RateTrackerTest, NeverNegative) {
  RateTracker r;
  absl::Time t = absl::FromUnixSeconds(0);
  const uint64_t values[] = {5, 3, kMax32, 2, kMax64, 1, 0, 0, 9};
  for (uint64_t v : values) {
    t += absl::Seconds(1);
    if (auto rate = r.Rate("x", v, t)) {
      EXPECT_GE(*rate, 0);
    }
  }
}

}  // namespace
}  // namespace k8i::agent
