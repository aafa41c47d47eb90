#include "libs/metrics/metrics.h"

#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::metrics {
namespace {

TEST(FormatValueTest, PrometheusSpelling) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(-1.5), "-1.5");
  EXPECT_EQ(FormatValue(1234567), "1234567");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(RegistryTest, CounterExposition) {
  Registry r;
  auto& requests = r.AddCounter("http_requests_total", "Requests served.", {"method", "code"});
  requests.WithLabels({"GET", "200"}).Inc();
  requests.WithLabels({"GET", "200"}).Inc(2);
  requests.WithLabels({"POST", "500"}).Inc(0.5);
  EXPECT_EQ(r.Expose(),
            "# HELP http_requests_total Requests served.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{method=\"GET\",code=\"200\"} 3\n"
            "http_requests_total{method=\"POST\",code=\"500\"} 0.5\n");
}

TEST(RegistryTest, UnlabelledMetricsAreExposedAsZeroFromTheStart) {
  Registry r;
  r.AddCounter("jobs_total", "Jobs.");
  r.AddGauge("queue_depth", "Depth.");
  r.AddCounter("labelled_total", "Not shown until a child exists.", {"kind"});
  EXPECT_EQ(r.Expose(),
            "# HELP jobs_total Jobs.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total 0\n"
            "# HELP queue_depth Depth.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 0\n");
}

TEST(RegistryTest, GaugeExposition) {
  Registry r;
  auto& g = r.AddGauge("temperature_celsius", "Current temperature.").WithLabels({});
  g.Set(20);
  g.Add(1.5);
  g.Add(-0.25);
  EXPECT_DOUBLE_EQ(g.Value(), 21.25);
  EXPECT_EQ(r.Expose(),
            "# HELP temperature_celsius Current temperature.\n"
            "# TYPE temperature_celsius gauge\n"
            "temperature_celsius 21.25\n");
}

TEST(RegistryTest, HistogramExpositionIsCumulative) {
  Registry r;
  auto& h =
      r.AddHistogram("rpc_seconds", "RPC latency.", {"method"}, {0.1, 0.5, 1}).WithLabels({"Get"});
  h.Observe(0.05);
  h.Observe(0.1);  // Bounds are inclusive: lands in le="0.1".
  h.Observe(0.3);
  h.Observe(0.7);
  h.Observe(2);
  EXPECT_EQ(h.Count(), 5u);
  EXPECT_DOUBLE_EQ(h.Sum(), 3.15);
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(r.Expose(),
            "# HELP rpc_seconds RPC latency.\n"
            "# TYPE rpc_seconds histogram\n"
            "rpc_seconds_bucket{method=\"Get\",le=\"0.1\"} 2\n"
            "rpc_seconds_bucket{method=\"Get\",le=\"0.5\"} 3\n"
            "rpc_seconds_bucket{method=\"Get\",le=\"1\"} 4\n"
            "rpc_seconds_bucket{method=\"Get\",le=\"+Inf\"} 5\n"
            "rpc_seconds_sum{method=\"Get\"} 3.15\n"
            "rpc_seconds_count{method=\"Get\"} 5\n");
}

TEST(RegistryTest, UnlabelledHistogramAndTrailingInfBound) {
  Registry r;
  auto& h =
      r.AddHistogram("size_bytes", "Sizes.", {}, {1024, std::numeric_limits<double>::infinity()})
          .WithLabels({});
  h.Observe(10);
  EXPECT_EQ(r.Expose(),
            "# HELP size_bytes Sizes.\n"
            "# TYPE size_bytes histogram\n"
            "size_bytes_bucket{le=\"1024\"} 1\n"
            "size_bytes_bucket{le=\"+Inf\"} 1\n"
            "size_bytes_sum 10\n"
            "size_bytes_count 1\n");
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry r;
  r.AddGauge("escaped", "Help with \\ and\nnewline and \"quotes\".", {"path"})
      .WithLabels({"C:\\dir \"x\"\nnext"})
      .Set(1);
  EXPECT_EQ(r.Expose(),
            "# HELP escaped Help with \\\\ and\\nnewline and \"quotes\".\n"
            "# TYPE escaped gauge\n"
            "escaped{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n");
}

TEST(RegistryTest, SortedByNameAndLabelValues) {
  Registry r;
  r.AddGauge("b_metric", "B.", {"k"}).WithLabels({"z"}).Set(1);
  r.AddGauge("b_metric", "B.", {"k"}).WithLabels({"a"}).Set(2);
  r.AddCounter("a_metric_total", "A.").WithLabels({}).Inc();
  EXPECT_EQ(r.Expose(),
            "# HELP a_metric_total A.\n"
            "# TYPE a_metric_total counter\n"
            "a_metric_total 1\n"
            "# HELP b_metric B.\n"
            "# TYPE b_metric gauge\n"
            "b_metric{k=\"a\"} 2\n"
            "b_metric{k=\"z\"} 1\n");
}

TEST(RegistryTest, AddingTheSameNameReturnsTheSameFamily) {
  Registry r;
  auto& a = r.AddCounter("dup_total", "Dup.", {"x"});
  auto& b = r.AddCounter("dup_total", "Dup.", {"x"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.WithLabels({"1"}), &b.WithLabels({"1"}));
  auto& h1 = r.AddHistogram("dup_seconds", "D.", {}, DefaultLatencyBuckets());
  auto& h2 = r.AddHistogram("dup_seconds", "D.", {}, DefaultLatencyBuckets());
  EXPECT_EQ(&h1, &h2);
}

TEST(RegistryTest, DefaultLatencyBuckets) {
  const std::vector<double> b = DefaultLatencyBuckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0005);
  EXPECT_DOUBLE_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

TEST(RegistryTest, ConcurrentIncrementsSumCorrectly) {
  Registry r;
  auto& family = r.AddCounter("concurrent_total", "C.", {"k"});
  auto& hist = r.AddHistogram("concurrent_seconds", "H.", {}, {0.5}).WithLabels({});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&family, &hist, t] {
      auto& shared = family.WithLabels({"shared"});
      for (int i = 0; i < kPerThread; ++i) {
        shared.Inc();
        family.WithLabels({"own" + std::to_string(t)}).Inc();
        hist.Observe(i % 2 == 0 ? 0.25 : 1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(family.WithLabels({"shared"}).Value(), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(family.WithLabels({"own" + std::to_string(t)}).Value(), kPerThread);
  }
  EXPECT_EQ(hist.Count(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_DOUBLE_EQ(hist.Sum(), kThreads * kPerThread / 2 * 1.25);
  EXPECT_EQ(hist.CumulativeCounts()[0], static_cast<uint64_t>(kThreads * kPerThread / 2));
}

TEST(RegistryDeathTest, ProgrammingErrorsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Registry r;
  EXPECT_DEATH(r.AddCounter("1bad", "x"), "invalid Prometheus metric name");
  EXPECT_DEATH(r.AddCounter("bad-name", "x"), "invalid Prometheus metric name");
  EXPECT_DEATH(r.AddCounter("ok_total", "x", {"bad:label"}), "invalid Prometheus label name");
  EXPECT_DEATH(r.AddCounter("ok_total", "x", {"__reserved"}), "reserved");
  EXPECT_DEATH(r.AddCounter("ok_total", "x", {"a", "a"}), "duplicate label name");
  EXPECT_DEATH(r.AddHistogram("h_seconds", "x", {"le"}, {1}), "reserved on histograms");
  EXPECT_DEATH(r.AddHistogram("h_seconds", "x", {}, {2, 1}), "strictly increase");
  r.AddCounter("typed", "x", {"a"});
  EXPECT_DEATH(r.AddGauge("typed", "x", {"a"}), "different types");
  EXPECT_DEATH(r.AddCounter("typed", "x", {"b"}), "different label names");
  EXPECT_DEATH(r.AddCounter("typed", "x", {"a"}).WithLabels({"1", "2"}),
               "wrong number of label values");
  EXPECT_DEATH(r.AddCounter("typed", "x", {"a"}).WithLabels({"1"}).Inc(-1), "negative");
}

TEST(RegistryTest, DefaultIsASingleton) { EXPECT_EQ(&Registry::Default(), &Registry::Default()); }

}  // namespace
}  // namespace k8i::metrics
