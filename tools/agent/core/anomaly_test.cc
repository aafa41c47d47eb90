#include "tools/agent/core/anomaly.h"

#include <cmath>

#include "gtest/gtest.h"
#include "libs/testing/stack.h"
#include "tools/agent/core/collection.h"

namespace k8i::agent {
namespace {

k8intel::v1::MetricSeries Series(absl::Time t, double v, const std::string& device = "eth0") {
  Collection c;
  k8intel::v1::ResourceRef r;
  r.set_node_name("node-a");
  r.set_device(device);
  AddSample(c, "k8s_node_network_receive_bytes_per_second", k8intel::v1::METRIC_TYPE_GAUGE, "By/s",
            r, {{"fstype", "x"}}, absl::ToUnixMillis(t), v);
  return c.metrics[0];
}

TEST(WelfordTest, MatchesTwoPassFormulas) {
  Welford w;
  const double xs[] = {2, 4, 4, 4, 5, 5, 7, 9};
  for (double x : xs) w.Add(x);
  EXPECT_DOUBLE_EQ(w.mean, 5);
  EXPECT_NEAR(w.Variance(), 32.0 / 7.0, 1e-12);
  EXPECT_EQ(w.count, 8);
}

TEST(HourOfWeekTest, MondayMidnightIsZero) {
  // 2026-11-23 is a Monday.
  const absl::Time monday = absl::FromCivil(absl::CivilHour(2026, 11, 23, 0), absl::UTCTimeZone());
  EXPECT_EQ(HourOfWeek(monday), 0);
  EXPECT_EQ(HourOfWeek(monday + absl::Hours(25)), 25);
  EXPECT_EQ(HourOfWeek(monday - absl::Hours(1)), 167);
  EXPECT_EQ(HourOfWeek(monday + absl::Hours(168)), 0);
}

struct Case {
  const char* name;
  double baseline_low, baseline_high;  // warm-up alternates between the two
  int warmup_values;
  double probe;
  bool want_alert;
};

TEST(AnomalyDetectorTest, Table) {
  const Case cases[] = {
      {"within 3 sigma", 90, 110, 30, 125, false},
      {"beyond 3 sigma high", 90, 110, 30, 140, true},
      {"beyond 3 sigma low", 90, 110, 30, 60, true},
      {"not warmed up", 90, 110, 29, 1000, false},
      {"constant series, tiny change is noise", 100, 100, 30, 100.5, false},
      {"constant series, real change", 100, 100, 30, 150, true},
  };
  for (const auto& c : cases) {
    k8i::testing::FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
    AnomalyDetector d({.warmup_samples = 30, .sigma = 3});
    std::vector<k8intel::v1::Alert> alerts;
    for (int i = 0; i < c.warmup_values; ++i) {
      // Same hour of week every time: step a week per value.
      d.Observe(Series(clock.Now(), i % 2 ? c.baseline_high : c.baseline_low), alerts);
      clock.Advance(absl::Hours(168));
    }
    ASSERT_TRUE(alerts.empty()) << c.name;
    d.Observe(Series(clock.Now(), c.probe), alerts);
    EXPECT_EQ(alerts.size(), c.want_alert ? 1u : 0u) << c.name;
  }
}

TEST(AnomalyDetectorTest, AlertContentFiresOnceThenResolves) {
  k8i::testing::FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  AnomalyDetector d({.warmup_samples = 30, .sigma = 3});
  std::vector<k8intel::v1::Alert> alerts;
  for (int i = 0; i < 30; ++i) {
    d.Observe(Series(clock.Now(), i % 2 ? 12.0 : 10.0), alerts);
    clock.Advance(absl::Hours(168));
  }
  d.Observe(Series(clock.Now(), 50), alerts);
  ASSERT_EQ(alerts.size(), 1u);
  const k8intel::v1::Alert a = alerts[0];
  EXPECT_EQ(a.source(), "anomaly");
  EXPECT_EQ(a.name(), "EdgeAnomaly");
  EXPECT_EQ(a.status(), k8intel::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(a.resource().device(), "eth0");
  EXPECT_EQ(a.labels(0).name(), "metric");
  EXPECT_EQ(a.labels(0).value(), "k8s_node_network_receive_bytes_per_second");
  EXPECT_TRUE(a.has_start_time());
  // mean 11, sample stddev sqrt(30/29) = 1.0171; 50 is 38.3 sigma away.
  EXPECT_NE(a.summary().find("is 50"), std::string::npos) << a.summary();
  EXPECT_NE(a.summary().find("mean 11"), std::string::npos) << a.summary();
  EXPECT_NE(a.summary().find("stddev 1.0171"), std::string::npos) << a.summary();
  EXPECT_NE(a.summary().find("38.3 sigma"), std::string::npos) << a.summary();
  EXPECT_EQ(a.annotations().at("baseline_mean"), "11");

  // Still anomalous next week: no second alert.
  clock.Advance(absl::Hours(168));
  d.Observe(Series(clock.Now(), 40), alerts);
  EXPECT_EQ(alerts.size(), 1u);
  // Another hour of the week has no warmed-up baseline: silent.
  d.Observe(Series(clock.Now() + absl::Hours(1), 1e9), alerts);
  EXPECT_EQ(alerts.size(), 1u);
  // Back to normal: resolved, with the original start.
  clock.Advance(absl::Hours(168));
  d.Observe(Series(clock.Now(), 11), alerts);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[1].status(), k8intel::v1::ALERT_STATUS_RESOLVED);
  EXPECT_TRUE(alerts[1].has_end_time());
  EXPECT_EQ(alerts[1].start_time().seconds(), a.start_time().seconds());
}

TEST(AnomalyDetectorTest, SeriesCapBoundsMemory) {
  AnomalyDetector d({.warmup_samples = 2, .max_series = 3});
  std::vector<k8intel::v1::Alert> alerts;
  const absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  for (int i = 0; i < 10; ++i) d.Observe(Series(t, 1, "dev" + std::to_string(i)), alerts);
  EXPECT_EQ(d.tracked(), 3u);
  EXPECT_EQ(d.untracked(), 7);
  d.Observe(Series(t, 1, "dev0"), alerts);  // known series still tracked
  EXPECT_EQ(d.untracked(), 7);
}

TEST(AnomalyDetectorTest, IdleSeriesMakeRoomWhenFull) {
  AnomalyDetector d({.warmup_samples = 2, .max_series = 2, .idle_timeout = absl::Hours(1)});
  std::vector<k8intel::v1::Alert> alerts;
  const absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  d.Observe(Series(t, 1, "veth-old"), alerts);
  d.Observe(Series(t, 1, "eth0"), alerts);
  d.Observe(Series(t + absl::Minutes(30), 1, "eth0"), alerts);
  d.Observe(Series(t + absl::Minutes(30), 1, "veth-new"), alerts);  // nothing idle yet
  EXPECT_EQ(d.untracked(), 1);
  d.Observe(Series(t + absl::Minutes(61), 1, "veth-new"), alerts);  // veth-old idle > 1h
  EXPECT_EQ(d.untracked(), 1);
  EXPECT_EQ(d.tracked(), 2u);
}

TEST(AnomalyDetectorTest, IgnoresNonFinite) {
  AnomalyDetector d({.warmup_samples = 2});
  std::vector<k8intel::v1::Alert> alerts;
  const absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  d.Observe(Series(t, NAN), alerts);
  d.Observe(Series(t, INFINITY), alerts);
  EXPECT_TRUE(alerts.empty());
}

}  // namespace
}  // namespace k8i::agent
