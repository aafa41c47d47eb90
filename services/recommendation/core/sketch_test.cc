#include "services/recommendation/core/sketch.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "services/recommendation/core/stats.h"

namespace k8i::recommendation {
namespace {

TEST(SketchTest, QuantilesWithinTwoPercentOfExact) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> d(-1.5, 0.8);
  std::vector<double> all;
  Sketch merged;
  for (int h = 0; h < 168; ++h) {  // a week of hourly sketches, merged
    Sketch hour;
    for (int i = 0; i < 60; ++i) {
      const double v = d(rng);
      all.push_back(v);
      hour.Add(v);
    }
    merged.Merge(Sketch::Decode(hour.Encode()));  // through its stored form
  }
  ASSERT_EQ(merged.count(), static_cast<int64_t>(all.size()));
  for (double q : {0.5, 0.9, 0.95, 0.99}) {
    const double exact = Percentile(all, q);
    EXPECT_NEAR(merged.Quantile(q) / exact, 1.0, 0.045) << q;
  }
}

TEST(SketchTest, EdgesAndBadText) {
  Sketch s;
  EXPECT_TRUE(std::isnan(s.Quantile(0.5)));
  s.Add(0);
  s.Add(-1);
  s.Add(std::nan(""));
  EXPECT_EQ(s.count(), 3);
  EXPECT_EQ(s.buckets().begin()->first, 0);
  EXPECT_EQ(Sketch::Decode("1:2,x").count(), 0);
  EXPECT_EQ(Sketch::Decode("3:-1").count(), 0);
  EXPECT_EQ(Sketch::Decode("").count(), 0);
  EXPECT_EQ(Sketch::Decode("5:2,9:1").count(), 3);
}

}  // namespace
}  // namespace k8i::recommendation
