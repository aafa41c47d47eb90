// Server-side anomaly detection: warm-up, the band, streaks, recovery, shared baselines and
// replays, on hand-made series (no randomness: "noise" is a fixed ±2 % pattern).
#include "services/correlation/core/anomaly.h"

#include "gtest/gtest.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

// Monday 2026-11-30 14:00:00 UTC.
const int64_t kStartMs = absl::ToUnixMillis(absl::FromCivil(absl::CivilHour(2026, 11, 30, 14),
                                                            absl::UTCTimeZone()));
constexpr int64_t kStepMs = 10'000;

v1::MetricSeries Series(const std::string& pod, const std::vector<double>& values,
                        int64_t start_ms = kStartMs) {
  v1::MetricSeries s;
  s.set_name("k8s_container_cpu_usage_cores");
  s.set_unit("1");
  auto* r = s.mutable_resource();
  r->set_namespace_name("shop");
  r->set_pod_name(pod);
  r->set_container_name("app");
  r->set_workload_kind("Deployment");
  r->set_workload_name("catalog");
  for (size_t i = 0; i < values.size(); ++i) {
    auto* p = s.add_samples();
    p->set_time_unix_ms(start_ms + static_cast<int64_t>(i) * kStepMs);
    p->set_value(values[i]);
  }
  return s;
}

// n values around `base` with a ±2 % zig-zag.
std::vector<double> Noisy(double base, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(base * (1 + 0.02 * ((i % 3) - 1)));
  return v;
}

std::vector<double> Concat(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Outcome {
  std::vector<v1::Alert> alerts;
  SeriesState state;
};

Outcome Observe(const std::vector<double>& values, AnomalyOptions o = {}) {
  AnomalyDetector d(o);
  Outcome r;
  Buckets b;
  const v1::MetricSeries s = Series("catalog-1", values);
  d.Observe(s, IdentityOf(s), r.state, b, r.alerts);
  return r;
}

TEST(AnomalyTest, TableOfShapes) {
  const std::vector<double> warm = Noisy(0.1, 40);
  struct Case {
    const char* name;
    std::vector<double> values;
    std::vector<v1::AlertStatus> want;
  };
  const std::vector<Case> cases = {
      {"flat noisy series never alerts", Noisy(0.1, 200), {}},
      {"a spike before warm-up is not judged", Concat(Noisy(0.1, 10), {0.9, 0.9, 0.9, 0.9}), {}},
      {"a single high sample is not an anomaly", Concat(warm, {0.9, 0.1, 0.1, 0.1}), {}},
      {"two high samples are not enough (consecutive 3)", Concat(warm, {0.9, 0.9, 0.1, 0.1}), {}},
      {"three high samples open an anomaly", Concat(warm, {0.9, 0.9, 0.9}),
       {v1::ALERT_STATUS_FIRING}},
      {"three normal samples after it resolve it",
       Concat(warm, {0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1}),
       {v1::ALERT_STATUS_FIRING, v1::ALERT_STATUS_RESOLVED}},
      {"two normal samples do not", Concat(warm, {0.9, 0.9, 0.9, 0.1, 0.1, 0.9}),
       {v1::ALERT_STATUS_FIRING}},
      {"a drop is an anomaly too", Concat(warm, {0.001, 0.001, 0.001}), {v1::ALERT_STATUS_FIRING}},
      {"high then low in a row does not make a streak", Concat(warm, {0.9, 0.001, 0.9, 0.001}), {}},
      // 4 % above the mean of a series whose stddev is ~1.6 %: more than 3 stddev, less than
      // the 5 % floor on sigma.
      {"small deviations of a near-constant series are below the floor",
       Concat(warm, {0.104, 0.104, 0.104, 0.104}), {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Outcome r = Observe(c.values);
    std::vector<v1::AlertStatus> got;
    for (const auto& a : r.alerts) got.push_back(a.status());
    EXPECT_EQ(got, c.want);
  }
}

TEST(AnomalyTest, AlertStatesItsArithmetic) {
  const Outcome r = Observe(Concat(Noisy(0.1, 40), {0.5, 0.5, 0.5}));
  ASSERT_EQ(r.alerts.size(), 1u);
  const v1::Alert& a = r.alerts[0];
  EXPECT_EQ(a.name(), kAnomalyAlert);
  EXPECT_EQ(a.source(), "anomaly");
  EXPECT_EQ(a.resource().pod_name(), "catalog-1");
  // The anomaly starts at the first sample of the streak (sample 40), not the third.
  EXPECT_EQ(a.start_time().seconds() * 1000, kStartMs + 40 * kStepMs);
  // The streak is judged against the 40 samples before it (its own are held out): mean 0.1
  // (the zig-zag's mean; 40 samples = 13 whole periods + one at −2 %, so a bit under),
  // sigma = max(stddev ~0.0017, 5 % of 0.1) = 0.005 → (0.5 − 0.1) / 0.005 = 80 sigma.
  EXPECT_EQ(a.annotations().at("baseline_samples"), "40");
  EXPECT_NEAR(std::stod(a.annotations().at("baseline_mean")), 0.1, 1e-3);
  EXPECT_NEAR(std::stod(a.annotations().at("sigma")), 0.005, 1e-4);
  EXPECT_NEAR(std::stod(a.annotations().at("deviation_sigmas")), 80, 1);
  EXPECT_EQ(a.annotations().at("hour_of_week"), "Mon 14:00 UTC");
  bool high = false;
  for (const auto& l : a.labels()) high |= l.name() == "direction" && l.value() == "high";
  EXPECT_TRUE(high);
  EXPECT_NE(a.summary().find("above its baseline for Mon 14:00 UTC"), std::string::npos)
      << a.summary();
}

TEST(AnomalyTest, EachHourOfTheWeekHasItsOwnBaseline) {
  AnomalyDetector d({});
  Buckets b;
  SeriesState st;
  std::vector<v1::Alert> out;
  // Warm 14:00 at 0.1, then 15:00 starts cold: a high level there is not judged by 14:00's.
  const auto warm = Series("catalog-1", Noisy(0.1, 40));
  d.Observe(warm, IdentityOf(warm), st, b, out);
  const auto next = Series("catalog-1", Noisy(0.8, 20), kStartMs + 3'600'000);
  d.Observe(next, IdentityOf(next), st, b, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(b.moments.size(), 2u);
}

TEST(AnomalyTest, ReplicasShareTheWorkloadBaselineButNotTheirStreaks) {
  const auto a = Series("catalog-1", {});
  const auto b = Series("catalog-2", {});
  EXPECT_EQ(IdentityOf(a).baseline, IdentityOf(b).baseline);
  EXPECT_NE(IdentityOf(a).series, IdentityOf(b).series);
  v1::MetricSeries node;
  node.set_name("k8s_node_cpu_utilization");
  node.mutable_resource()->set_node_name("n1");
  EXPECT_EQ(IdentityOf(node).baseline, IdentityOf(node).series);

  // Warm the workload's bucket from pod 1; pod 2 (a new pod of a rollout) is judged by it.
  AnomalyDetector d({});
  Buckets buckets;
  SeriesState s1, s2;
  std::vector<v1::Alert> out;
  const auto warm = Series("catalog-1", Noisy(0.1, 40));
  d.Observe(warm, IdentityOf(warm), s1, buckets, out);
  const auto hot = Series("catalog-2", {0.9, 0.9, 0.9}, kStartMs + 41 * kStepMs);
  d.Observe(hot, IdentityOf(hot), s2, buckets, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].resource().pod_name(), "catalog-2");
  EXPECT_EQ(s1.direction, 0);
  EXPECT_EQ(s2.direction, 1);
}

TEST(AnomalyTest, ReplayingSamplesChangesNothing) {
  AnomalyDetector d({});
  Buckets b;
  SeriesState st;
  std::vector<v1::Alert> out;
  const auto s = Series("catalog-1", Concat(Noisy(0.1, 40), {0.9, 0.9, 0.9}));
  d.Observe(s, IdentityOf(s), st, b, out);
  ASSERT_EQ(out.size(), 1u);
  // All 43 samples are in the baseline once the anomaly opened.
  EXPECT_EQ(b.moments.begin()->second.count, 43);
  d.Observe(s, IdentityOf(s), st, b, out);  // redelivered
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(b.moments.begin()->second.count, 43);
}

TEST(AnomalyTest, ABrokenStreakJoinsTheBaseline) {
  const Outcome r = Observe(Concat(Noisy(0.1, 40), {0.9, 0.9}));
  EXPECT_EQ(r.state.pending.size(), 2u);  // held out while undecided
  AnomalyDetector d({});
  Buckets b;
  SeriesState st;
  std::vector<v1::Alert> out;
  const auto s = Series("catalog-1", Concat(Noisy(0.1, 40), {0.9, 0.9, 0.1}));
  d.Observe(s, IdentityOf(s), st, b, out);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(st.pending.empty());
  EXPECT_EQ(b.moments.begin()->second.count, 43);
}

TEST(AnomalyTest, ExpireResolvesAtTheLastSample) {
  Outcome r = Observe(Concat(Noisy(0.1, 40), {0.9, 0.9, 0.9}));
  ASSERT_EQ(r.state.direction, 1);
  auto resolved = AnomalyDetector::Expire(r.state);
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ(resolved->status(), v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(resolved->end_time().seconds() * 1000, kStartMs + 42 * kStepMs);
  EXPECT_EQ(resolved->fingerprint(), r.alerts[0].fingerprint());
  EXPECT_EQ(r.state.direction, 0);
  EXPECT_FALSE(AnomalyDetector::Expire(r.state).has_value());
}

TEST(HourOfWeekTest, Names) {
  EXPECT_EQ(HourOfWeekName(0), "Mon 00:00 UTC");
  EXPECT_EQ(HourOfWeekName(24 + 14), "Tue 14:00 UTC");
  EXPECT_EQ(HourOfWeekName(167), "Sun 23:00 UTC");
}

}  // namespace
}  // namespace k8i::correlation
