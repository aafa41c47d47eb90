#include "services/recommendation/core/predictions.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace k8i::recommendation {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kMiB = 1024.0 * 1024.0;
// 2026-11-10T12:00:00Z, a Tuesday.
const absl::Time kNow = absl::FromUnixSeconds(1'794'312'000);

FillInput Pvc(double capacity_gib) {
  FillInput in;
  in.subject = {.cluster = "c1", .kind = "PersistentVolumeClaim", .ns = "data", .name = "pg"};
  in.capacity = capacity_gib * kGiB;
  in.now = kNow;
  return in;
}

// Used bytes every 5 minutes over the last 24 h: start + slope × hours + noise.
std::vector<Point> Series(double start_gib, double gib_per_hour, double noise_gib,
                          std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, noise_gib);
  std::vector<Point> out;
  for (int m = 24 * 60; m >= 0; m -= 5) {
    const double h = (24 * 60 - m) / 60.0;
    out.push_back({kNow - absl::Minutes(m), (start_gib + gib_per_hour * h + noise(rng)) * kGiB});
  }
  return out;
}

TEST(FillTest, LinearFillsArePredictedWithinTenPercentMedianError) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> slope(0.2, 2.0);
  std::vector<double> errors;
  for (int i = 0; i < 100; ++i) {
    FillInput in = Pvc(100);
    const double s = slope(rng);
    in.used = Series(20, s, 0.3, rng);
    const double truth_h = (100 - (20 + s * 24)) / s;
    auto a = PredictFill(in);
    if (truth_h > 24 * 7) {
      continue;  // beyond the horizon: not asked
    }
    ASSERT_TRUE(a.has_value()) << "slope " << s;
    const double predicted_h = absl::ToDoubleHours(a->when - kNow);
    errors.push_back(std::abs(predicted_h - truth_h) / truth_h);
  }
  ASSERT_GT(errors.size(), 50u);
  std::sort(errors.begin(), errors.end());
  const double median = errors[errors.size() / 2];
  EXPECT_LE(median, 0.10) << "median time-to-full error";
  std::printf("linear fills: %zu predicted, median time-to-full error %.2f%%\n", errors.size(),
              median * 100);
}

TEST(FillTest, NoisyFlatSeriesNeverAlarm) {
  std::mt19937_64 rng(11);
  int advice = 0;
  for (int i = 0; i < 200; ++i) {
    FillInput in = Pvc(100);
    in.used = Series(60, 0, 2.0, rng);  // flat at 60 %, ±2 GiB noise
    if (PredictFill(in)) ++advice;
  }
  EXPECT_EQ(advice, 0);
}

TEST(FillTest, AStepIsNotATrendButGrowthAfterARotationIs) {
  std::mt19937_64 rng(3);
  // Flat at 40 GiB, then 30 GiB written at once 10 h ago, flat since: no trend.
  FillInput step = Pvc(100);
  step.used = Series(40, 0, 0.05, rng);
  for (Point& p : step.used) {
    if (p.t >= kNow - absl::Hours(10)) p.v += 30 * kGiB;
  }
  EXPECT_FALSE(PredictFill(step).has_value());
  // Growing 1 GiB/h, logs rotated 8 h ago (−30 GiB), growing since: predicted from after it.
  FillInput rot = Pvc(100);
  rot.used = Series(50, 1, 0.05, rng);
  for (Point& p : rot.used) {
    if (p.t >= kNow - absl::Hours(8)) p.v -= 30 * kGiB;
  }
  auto a = PredictFill(rot);
  ASSERT_TRUE(a.has_value());
  // Now 50 + 24 − 30 = 44 GiB: 56 h to full.
  EXPECT_NEAR(absl::ToDoubleHours(a->when - kNow), 56, 2);
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(a->evidence, "\n"), "one-off step"));
}

TEST(FillTest, SeverityFollowsTheAlertingRules) {
  std::mt19937_64 rng(5);
  struct Case {
    std::string what;
    bool pvc;
    double start, slope;  // GiB at now − 24 h, GiB/h (capacity 100)
    Severity want;
  };
  const std::vector<Case> cases = {
      {"pvc full in 12 h", true, 40, 2, Severity::kCritical},         // 88 now
      {"pvc full in 10.5 h", true, 65.5, 1, Severity::kCritical},     // 89.5 now
      {"pvc 98 % used, flat", true, 98, 0, Severity::kCritical},
      {"node full in 3.1 h, 11 % free", false, 5, 3.5, Severity::kCritical},  // 89 now
      {"node full in 15 h, 15 % free", false, 61, 1, Severity::kWarning},     // 85 now
      {"node full in 20 h, 20 % free", false, 56, 1, Severity::kWarning},     // 80 now
  };
  for (const Case& c : cases) {
    FillInput in = Pvc(100);
    in.pvc = c.pvc;
    in.used = Series(c.start, c.slope, 0.02, rng);
    auto a = PredictFill(in);
    ASSERT_TRUE(a.has_value()) << c.what;
    EXPECT_EQ(a->severity, c.want) << c.what << ": " << a->title;
  }
  // 3 days to full with 10 % free: a warning (PVC: within 4 days and < 15 % free).
  FillInput w = Pvc(1000);
  w.used = Series(828, 1, 0.02, rng);  // 852 now: 148 h; 14.8 % free → info (> 96 h)
  auto a = PredictFill(w);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->severity, Severity::kInfo);
  FillInput w2 = Pvc(1000);
  w2.used = Series(880, 1, 0.02, rng);  // 904 now: 96 h; 9.6 % free → warning
  a = PredictFill(w2);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->severity, Severity::kWarning) << a->title;
  EXPECT_TRUE(absl::StrContains(a->command, "kubectl patch pvc pg -n data")) << a->command;
}

TEST(LeakTest, GrowthAcrossRestartsIsALeakAndTheNextKillIsPredicted) {
  LeakInput in;
  in.subject = {.cluster = "c1", .kind = "Deployment", .ns = "shop", .name = "api", .container = "app"};
  in.memory_limit = 512 * kMiB;
  in.now = kNow;
  // 24 h: restarts every 8 h; between them, 100 MiB + 40 MiB/h.
  for (int k = 0; k < 3; ++k) {
    const absl::Time start = kNow - absl::Hours(24) + absl::Hours(8 * k);
    if (k > 0) in.restarts.push_back(start);
    for (int m = 0; m < 8 * 60; m += 10) {
      in.working_set.push_back({start + absl::Minutes(m), 100 * kMiB + 40 * kMiB * m / 60.0});
    }
  }
  auto a = PredictLeak(in);
  ASSERT_TRUE(a.has_value());
  // Last segment began 8 h ago: 100 + 40 × 8 = 420 MiB now; (512 − 420) / 40 = 2.3 h.
  EXPECT_NEAR(absl::ToDoubleHours(a->when - kNow), 2.3, 0.1);
  EXPECT_EQ(a->severity, Severity::kCritical);
  // The same sawtooth flat between restarts is not a leak.
  LeakInput flat = in;
  for (Point& p : flat.working_set) p.v = 200 * kMiB + ((absl::ToUnixSeconds(p.t) / 600) % 2) * kMiB;
  EXPECT_FALSE(PredictLeak(flat).has_value());
}

TEST(CertTest, ThresholdsAroundTheirEdges) {
  struct Case {
    absl::Duration left;
    std::optional<Severity> want;
  };
  const std::vector<Case> cases = {
      {absl::Hours(24 * 22), std::nullopt},
      {absl::Hours(24 * 21), Severity::kWarning},
      {absl::Hours(24 * 8), Severity::kWarning},
      {absl::Hours(24 * 7), Severity::kCritical},
      {absl::Hours(1), Severity::kCritical},
      {-absl::Hours(24), Severity::kCritical},
  };
  for (const Case& c : cases) {
    auto a = PredictCertExpiry({.subject = {.cluster = "c1", .kind = "Secret", .ns = "shop", .name = "tls"},
                                .not_after = kNow + c.left,
                                .dns_names = {"shop.example.com"},
                                .now = kNow});
    ASSERT_EQ(a.has_value(), c.want.has_value()) << absl::FormatDuration(c.left);
    if (a) {
      EXPECT_EQ(a->severity, *c.want) << absl::FormatDuration(c.left);
    }
  }
}

TEST(CapacityTest, LosingTheLargestNode) {
  std::vector<NodeCapacity> nodes = {{"a", 4, 16 * kGiB, 3, 4 * kGiB},
                                     {"b", 4, 16 * kGiB, 3, 4 * kGiB},
                                     {"c", 8, 32 * kGiB, 3, 4 * kGiB}};
  // 9 cores requested > 16 − 8 = 8: one more node of 8 cores.
  auto a = CheckNodeLoss("c1", nodes);
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(absl::StrContains(a->title, "add 1 node(s)")) << a->title;
  nodes[2].cpu_requests = 1;  // 7 ≤ 8
  EXPECT_FALSE(CheckNodeLoss("c1", nodes).has_value());
}

TEST(ForecastTest, RecurringWeekdayPeakNeedsNodesAheadOfIt) {
  LoadHistory in;
  in.cluster = "c1";
  in.node_cpu = 8;
  in.nodes = 4;
  in.now = kNow;  // Tuesday 12:00
  // Three weeks: weekdays 09:00-17:00 30 cores requested, otherwise 10.
  for (absl::Time t = kNow - absl::Hours(24 * 21); t < kNow; t += absl::Hours(1)) {
    const absl::CivilHour h = absl::ToCivilHour(t, absl::UTCTimeZone());
    const auto dow = absl::GetWeekday(absl::CivilDay(h));
    const bool weekday = dow != absl::Weekday::saturday && dow != absl::Weekday::sunday;
    in.cpu_requests.push_back({t, weekday && h.hour() >= 9 && h.hour() < 17 ? 30.0 : 10.0});
  }
  auto a = ForecastPeaks(in);
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(absl::StrContains(a->title, "needs 5 nodes (has 4)")) << a->title;  // 30 / 6.4
  // The first peak hour ahead: today 13:00 (the running hour is not forecast).
  EXPECT_EQ(a->when, kNow + absl::Hours(1));
  in.nodes = 5;
  EXPECT_FALSE(ForecastPeaks(in).has_value());
}

}  // namespace
}  // namespace k8i::recommendation
