#include "tools/kubesim/core/usage.h"

#include "gtest/gtest.h"

namespace k8i::kubesim {
namespace {

constexpr double kMi = 1 << 20;

UsagePoint At(absl::Duration offset, absl::Duration since_start = absl::ZeroDuration(),
              double reference = 0) {
  UsagePoint p;
  p.offset = offset;
  p.clock = absl::FromCivil(absl::CivilHour(2026, 12, 4, 0), absl::UTCTimeZone()) + offset;
  p.since_start = since_start;
  p.reference = reference;
  return p;
}

TEST(EvalProfileTest, Table) {
  UsageProfile steady;
  steady.base = {0.1, false};
  UsageProfile daily;
  daily.kind = UsageProfile::Kind::kDaily;
  daily.base = {0.1, false};
  daily.peak = {0.5, false};
  daily.peak_hour = 14;
  UsageProfile leak;
  leak.kind = UsageProfile::Kind::kLeak;
  leak.base = {200 * kMi, false};
  leak.rate_per_hour = 20 * kMi;
  UsageProfile spike;
  spike.kind = UsageProfile::Kind::kSpike;
  spike.base = {0.1, false};
  spike.peak = {0.9, false};
  spike.every = absl::Minutes(10);
  spike.duration = absl::Minutes(1);
  UsageProfile of_limit;
  of_limit.base = {0.95, true};
  struct Case {
    const char* name;
    const UsageProfile& profile;
    UsagePoint at;
    double want;
  };
  const Case cases[] = {
      {"steady", steady, At(absl::Hours(3)), 0.1},
      {"daily at peak hour", daily, At(absl::Hours(14)), 0.5},
      {"daily 12h from peak", daily, At(absl::Hours(2)), 0.1},
      {"daily 6h from peak is midway", daily, At(absl::Hours(8)), 0.3},
      {"leak at start", leak, At(absl::Hours(1), absl::ZeroDuration()), 200 * kMi},
      {"leak after 3h", leak, At(absl::Hours(5), absl::Hours(3)), 260 * kMi},
      {"spike inside the window", spike, At(absl::Minutes(20) + absl::Seconds(30)), 0.9},
      {"spike outside the window", spike, At(absl::Minutes(25)), 0.1},
      {"95% of the limit", of_limit, At(absl::Minutes(1), absl::ZeroDuration(), 0.5), 0.475},
  };
  for (const auto& c : cases) EXPECT_NEAR(EvalProfile(c.profile, c.at), c.want, 1e-9) << c.name;
}

TEST(EvalProfileTest, NoiseStaysWithinBoundsAndIsDeterministic) {
  UsageProfile p;
  p.base = {1.0, false};
  p.noise = 0.05;
  bool varied = false;
  for (uint64_t h = 0; h < 200; ++h) {
    UsagePoint at = At(absl::Minutes(1));
    at.noise_hash = h * 0x9e3779b97f4a7c15ULL;
    const double v = EvalProfile(p, at);
    EXPECT_GE(v, 0.95);
    EXPECT_LE(v, 1.05);
    EXPECT_EQ(v, EvalProfile(p, at));
    varied = varied || std::abs(v - 1.0) > 0.01;
  }
  EXPECT_TRUE(varied);
}

}  // namespace
}  // namespace k8i::kubesim
