#include "services/cost/core/budget.h"

#include "gtest/gtest.h"

namespace k8i::cost {
namespace {

absl::Time At(int y, int mo, int d, int h) {
  return absl::FromCivil(absl::CivilHour(y, mo, d, h), absl::UTCTimeZone());
}

TEST(BudgetTest, HoursInMonth) {
  EXPECT_EQ(HoursInMonth(At(2026, 2, 10, 3)), 28 * 24);
  EXPECT_EQ(HoursInMonth(At(2028, 2, 10, 3)), 29 * 24);
  EXPECT_EQ(HoursInMonth(At(2026, 12, 31, 23)), 31 * 24);
}

TEST(BudgetTest, ProjectionIsSoFarPlusRecentRateOverHoursLeft) {
  // 2026-12-06 00:00: 26 days × 24 h = 624 h left.
  const Projection p = ProjectMonth(At(2026, 12, 6, 0), 100.0, {1.0, 2.0, 3.0});
  EXPECT_DOUBLE_EQ(p.hourly_rate, 2.0);
  EXPECT_DOUBLE_EQ(p.hours_left, 624);
  EXPECT_DOUBLE_EQ(p.projected, 100.0 + 2.0 * 624);
  EXPECT_EQ(p.explanation,
            "100.00 so far + 2.0000/h (mean of the last 3 h) x 624.0 h left in the month = 1348.00");
  EXPECT_DOUBLE_EQ(ProjectMonth(At(2026, 12, 6, 0), 5, {}).projected, 5);
}

TEST(BudgetTest, TheLastHourOfAMonthProjectsThatMonth) {
  // The hour 23:00-24:00 on Dec 31 ends at Jan 1 00:00: December is complete, nothing is left
  // (not January's 744 hours).
  const Projection p = ProjectMonth(At(2027, 1, 1, 0), 500.0, {1.0});
  EXPECT_DOUBLE_EQ(p.hours_left, 0);
  EXPECT_DOUBLE_EQ(p.projected, 500.0);
  EXPECT_DOUBLE_EQ(ProjectMonth(At(2026, 12, 31, 23), 500.0, {1.0}).hours_left, 1);
}

TEST(BudgetTest, ProjectionOverBudgetAlertsWithItsArithmetic) {
  const Budget b{.scope = "namespace", .key = "shop", .monthly = 1000};
  const Projection p = ProjectMonth(At(2026, 12, 6, 0), 100.0, {2.0});
  auto v = CheckProjection(b, p, "USD");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, "projection");
  EXPECT_NE(v->summary.find("namespace shop is projected to cost USD 1348.00 this month, over "
                            "its budget of 1000.00 (135 %)"),
            std::string::npos)
      << v->summary;
  EXPECT_FALSE(CheckProjection({.monthly = 2000}, p, "USD").has_value());
  EXPECT_FALSE(CheckProjection({.monthly = 0}, p, "USD").has_value());  // no budget
}

TEST(BudgetTest, SpikesAgainstTheSameHourOfTheWeek) {
  const Budget b{.scope = "team", .key = "search", .monthly = 1000, .spike_factor = 3};
  Welford weeks;
  for (double x : {1.0, 1.2, 0.8}) weeks.Add(x);  // mean 1.0 over 3 weeks
  const absl::Time hour = At(2026, 12, 7, 9);      // a Monday, 09:00
  auto v = CheckSpike(b, hour, 3.5, weeks, "USD");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, "spike");
  EXPECT_NE(v->summary.find("3.5x the mean of that hour of the week over 3 weeks"),
            std::string::npos)
      << v->summary;
  EXPECT_FALSE(CheckSpike(b, hour, 2.9, weeks, "USD").has_value());
  Welford two;
  two.Add(1);
  two.Add(1);
  EXPECT_FALSE(CheckSpike(b, hour, 10, two, "USD").has_value());  // too little history
}

}  // namespace
}  // namespace k8i::cost
