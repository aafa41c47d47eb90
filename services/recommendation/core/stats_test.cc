#include "services/recommendation/core/stats.h"

#include <cmath>

#include "gtest/gtest.h"

namespace k8i::recommendation {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TEST(StatsTest, PercentileInterpolatesBetweenRanks) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  struct Case {
    double p, want;
  };
  for (const Case& c : std::vector<Case>{{0, 1}, {1, 100}, {0.5, 50.5}, {0.95, 95.05}, {0.9, 90.1}}) {
    EXPECT_NEAR(Percentile(v, c.p), c.want, 1e-9) << c.p;
  }
  EXPECT_TRUE(std::isnan(Percentile({}, 0.5)));
  EXPECT_DOUBLE_EQ(Percentile({7}, 0.95), 7);
}

TEST(StatsTest, FitLineRecoversSlopeAndFit) {
  std::vector<Point> exact, flat;
  for (int i = 0; i < 24; ++i) {
    exact.push_back({kT0 + absl::Hours(i), 10 + 2.5 * i});
    flat.push_back({kT0 + absl::Hours(i), 5.0 + ((i % 2) ? 0.1 : -0.1)});
  }
  auto l = FitLine(exact);
  ASSERT_TRUE(l.has_value());
  EXPECT_NEAR(l->slope, 2.5, 1e-9);
  EXPECT_NEAR(l->intercept, 10, 1e-9);
  EXPECT_NEAR(l->r2, 1, 1e-12);
  EXPECT_NEAR(l->At(kT0 + absl::Hours(30)), 85, 1e-9);
  auto f = FitLine(flat);
  ASSERT_TRUE(f.has_value());
  EXPECT_LT(f->r2, 0.1);
  EXPECT_LT(std::abs(f->T()), 5);
  EXPECT_FALSE(FitLine({{kT0, 1}, {kT0 + absl::Hours(1), 2}}).has_value());
  EXPECT_FALSE(FitLine({{kT0, 1}, {kT0, 2}, {kT0, 3}}).has_value());
}

TEST(StatsTest, LastStepFindsTheOneOffChange) {
  std::vector<Point> p;
  for (int i = 0; i < 20; ++i) p.push_back({kT0 + absl::Hours(i), 10.0 + 0.1 * i + (i >= 12 ? 30 : 0)});
  EXPECT_EQ(LastStep(p, 10, 1), 12u);
  std::vector<Point> smooth;
  for (int i = 0; i < 20; ++i) smooth.push_back({kT0 + absl::Hours(i), 10.0 + 0.1 * i});
  EXPECT_EQ(LastStep(smooth, 10, 1), 0u);
}

}  // namespace
}  // namespace k8i::recommendation
