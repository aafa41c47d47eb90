#include "services/ingest/core/remote_write.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace k8i::ingest {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const int64_t kNowMs = 1'800'000'000'000;

double StaleNaN() {
  double v;
  const uint64_t bits = kStaleNaNBits;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

prometheus::TimeSeries Series(std::vector<std::pair<std::string, std::string>> labels,
                              std::vector<double> values) {
  prometheus::TimeSeries ts;
  for (auto& [k, v] : labels) {
    auto* l = ts.add_labels();
    l->set_name(k);
    l->set_value(v);
  }
  int64_t t = kNowMs - 60'000;
  for (double v : values) {
    auto* s = ts.add_samples();
    s->set_value(v);
    s->set_timestamp(t += 1000);
  }
  return ts;
}

TEST(RemoteWriteTest, MapsSeriesToResourcesAndTypes) {
  prometheus::WriteRequest req;
  *req.add_timeseries() = Series({{"__name__", "container_memory_working_set_bytes"},
                                  {"container", "app"},
                                  {"instance", "10.0.0.5:10250"},
                                  {"job", "cadvisor"},
                                  {"namespace", "shop"},
                                  {"pod", "web-1"}},
                                 {1e6, 2e6});
  *req.add_timeseries() =
      Series({{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"instance", "node-1:9100"},
              {"mode", "idle"}},
             {10});
  RemoteWriteResult r = MapWriteRequest(req, std::string(64, 'a'), Limits{}, kNow);
  ASSERT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(r.series, 2);
  EXPECT_EQ(r.samples, 3);
  EXPECT_EQ(r.rejected_series, 0);
  const auto& b = r.batches[0];
  EXPECT_EQ(b.batch_id(), "prw-" + std::string(40, 'a') + "-1");
  const auto& mem = b.metrics(0);
  EXPECT_EQ(mem.name(), "container_memory_working_set_bytes");
  EXPECT_EQ(mem.type(), k8intel::v1::METRIC_TYPE_GAUGE);
  EXPECT_EQ(mem.resource().namespace_name(), "shop");
  EXPECT_EQ(mem.resource().pod_name(), "web-1");
  EXPECT_EQ(mem.resource().container_name(), "app");
  // Identity labels moved to the resource; the rest kept, in order.
  ASSERT_EQ(mem.labels_size(), 2);
  EXPECT_EQ(mem.labels(0).name(), "instance");
  EXPECT_EQ(mem.labels(1).name(), "job");
  EXPECT_EQ(mem.samples(1).value(), 2e6);
  EXPECT_EQ(mem.samples(1).time_unix_ms(), kNowMs - 58'000);
  const auto& cpu = b.metrics(1);
  EXPECT_EQ(cpu.type(), k8intel::v1::METRIC_TYPE_COUNTER);
  EXPECT_EQ(cpu.resource().node_name(), "node-1");
}

TEST(RemoteWriteTest, MetadataDecidesTheType) {
  const struct {
    const char* series;
    const char* family;
    prometheus::MetricMetadata::MetricType type;
    k8intel::v1::MetricType want;
  } cases[] = {
      {"http_requests", "http_requests", prometheus::MetricMetadata::COUNTER,
       k8intel::v1::METRIC_TYPE_COUNTER},
      {"latency_seconds_bucket", "latency_seconds", prometheus::MetricMetadata::HISTOGRAM,
       k8intel::v1::METRIC_TYPE_COUNTER},
      {"rpc_seconds", "rpc_seconds", prometheus::MetricMetadata::SUMMARY,
       k8intel::v1::METRIC_TYPE_GAUGE},  // a quantile
      {"rpc_seconds_sum", "rpc_seconds", prometheus::MetricMetadata::SUMMARY,
       k8intel::v1::METRIC_TYPE_COUNTER},
      {"queue_total", "queue_total", prometheus::MetricMetadata::GAUGE,
       k8intel::v1::METRIC_TYPE_GAUGE},  // metadata beats the suffix
      {"temperature", "other", prometheus::MetricMetadata::COUNTER,
       k8intel::v1::METRIC_TYPE_GAUGE},  // no metadata for it: by name
      {"bytes_sum", "other", prometheus::MetricMetadata::COUNTER,
       k8intel::v1::METRIC_TYPE_COUNTER},
  };
  for (const auto& c : cases) {
    prometheus::WriteRequest req;
    *req.add_timeseries() = Series({{"__name__", c.series}}, {1});
    auto* m = req.add_metadata();
    m->set_metric_family_name(c.family);
    m->set_type(c.type);
    RemoteWriteResult r = MapWriteRequest(req, "id", Limits{}, kNow);
    ASSERT_EQ(r.batches.size(), 1u) << c.series;
    EXPECT_EQ(r.batches[0].metrics(0).type(), c.want) << c.series;
  }
}

TEST(RemoteWriteTest, InvalidSeriesAreRejectedAndTheRestKept) {
  const struct {
    const char* name;
    std::vector<std::pair<std::string, std::string>> labels;
    std::vector<double> values;
    const char* reason;
  } cases[] = {
      {"unsorted", {{"__name__", "m"}, {"b", "1"}, {"a", "2"}}, {1}, "not sorted"},
      {"repeated", {{"__name__", "m"}, {"a", "1"}, {"a", "2"}}, {1}, "repeated"},
      {"empty name", {{"", "x"}, {"__name__", "m"}}, {1}, "empty name"},
      {"invalid name", {{"__name__", "m"}, {"a-b", "1"}}, {1}, "is not [a-zA-Z_]"},
      {"no __name__", {{"a", "1"}}, {1}, "no __name__"},
      {"bad metric name", {{"__name__", "1m"}}, {1}, "not a valid metric name"},
  };
  for (const auto& c : cases) {
    prometheus::WriteRequest req;
    *req.add_timeseries() = Series({{"__name__", "good"}}, {1, 2});
    *req.add_timeseries() = Series(c.labels, c.values);
    RemoteWriteResult r = MapWriteRequest(req, "id", Limits{}, kNow);
    EXPECT_EQ(r.series, 1) << c.name;
    EXPECT_EQ(r.samples, 2) << c.name;
    EXPECT_EQ(r.rejected_series, 1) << c.name;
    EXPECT_EQ(r.rejected_samples, 1) << c.name;
    ASSERT_EQ(r.reasons.size(), 1u) << c.name;
    EXPECT_TRUE(absl::StartsWith(r.reasons[0], "timeseries[1]: ")) << r.reasons[0];
    EXPECT_TRUE(absl::StrContains(r.reasons[0], c.reason)) << c.name << ": " << r.reasons[0];
  }
}

TEST(RemoteWriteTest, SamplesOutsideTheWindowRejectTheSeries) {
  prometheus::WriteRequest req;
  auto ts = Series({{"__name__", "m"}}, {1});
  ts.mutable_samples(0)->set_timestamp(kNowMs + 3'600'000);  // an hour ahead
  *req.add_timeseries() = ts;
  RemoteWriteResult r = MapWriteRequest(req, "id", Limits{}, kNow);
  EXPECT_TRUE(r.batches.empty());
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_TRUE(absl::StrContains(r.reasons[0], "in the future")) << r.reasons[0];
}

TEST(RemoteWriteTest, StaleMarkersAndNonFiniteValuesAreSkipped) {
  prometheus::WriteRequest req;
  *req.add_timeseries() = Series({{"__name__", "up"}, {"instance", "h:1"}},
                                 {1, StaleNaN()});
  *req.add_timeseries() = Series({{"__name__", "gone"}}, {StaleNaN()});
  *req.add_timeseries() =
      Series({{"__name__", "q"}}, {std::numeric_limits<double>::quiet_NaN(),
                                   std::numeric_limits<double>::infinity(), 3});
  RemoteWriteResult r = MapWriteRequest(req, "id", Limits{}, kNow);
  EXPECT_EQ(r.stale_markers, 2);
  EXPECT_EQ(r.non_finite, 2);
  EXPECT_EQ(r.rejected_series, 0);
  EXPECT_EQ(r.series, 2);  // "gone" had nothing but its end
  EXPECT_EQ(r.samples, 2);
  EXPECT_TRUE(IsStaleMarker(StaleNaN()));
  EXPECT_FALSE(IsStaleMarker(std::numeric_limits<double>::quiet_NaN()));
}

TEST(RemoteWriteTest, EmptyLabelValuesAreDroppedAndEmptySeriesSkipped) {
  prometheus::WriteRequest req;
  *req.add_timeseries() = Series({{"__name__", "m"}, {"a", ""}, {"b", "1"}}, {1});
  *req.add_timeseries() = Series({{"__name__", "exemplars_only"}}, {});
  RemoteWriteResult r = MapWriteRequest(req, "id", Limits{}, kNow);
  ASSERT_EQ(r.batches.size(), 1u);
  ASSERT_EQ(r.batches[0].metrics(0).labels_size(), 1);
  EXPECT_EQ(r.batches[0].metrics(0).labels(0).name(), "b");
  EXPECT_EQ(r.empty_series, 1);
}

TEST(RemoteWriteTest, SplitsIntoBatchesWithinLimits) {
  Limits limits;
  limits.max_series_per_batch = 2;
  limits.max_samples_per_batch = 5;
  prometheus::WriteRequest req;
  for (int i = 0; i < 5; ++i) {
    *req.add_timeseries() = Series({{"__name__", "m"}, {"i", std::to_string(i)}}, {1, 2});
  }
  RemoteWriteResult r = MapWriteRequest(req, "abc", limits, kNow);
  ASSERT_EQ(r.batches.size(), 3u);
  EXPECT_EQ(r.batches[0].metrics_size(), 2);
  EXPECT_EQ(r.batches[2].metrics_size(), 1);
  EXPECT_EQ(r.batches[2].batch_id(), "prw-abc-3");
  // The same request maps to the same batches (a resend is deduplicated).
  RemoteWriteResult again = MapWriteRequest(req, "abc", limits, kNow);
  EXPECT_EQ(again.batches[1].SerializeAsString(), r.batches[1].SerializeAsString());
}

TEST(RemoteWriteTest, BatchesAreCutByPositionSoFilteringNeverShiftsASeries) {
  Limits limits;
  limits.max_series_per_batch = 2;
  prometheus::WriteRequest req;
  for (int i = 0; i < 4; ++i) {
    *req.add_timeseries() = Series({{"__name__", "m"}, {"i", std::to_string(i)}}, {1});
  }
  // Series 1 is an hour ahead (refused): series 2 and 3 still make up batch -2, as they would
  // if it were accepted.
  req.mutable_timeseries(1)->mutable_samples(0)->set_timestamp(kNowMs + 3'600'000);
  RemoteWriteResult r = MapWriteRequest(req, "abc", limits, kNow);
  ASSERT_EQ(r.batches.size(), 2u);
  EXPECT_EQ(r.batches[0].batch_id(), "prw-abc-1");
  EXPECT_EQ(r.batches[0].metrics_size(), 1);
  EXPECT_EQ(r.batches[1].batch_id(), "prw-abc-2");
  ASSERT_EQ(r.batches[1].metrics_size(), 2);
  EXPECT_EQ(r.batches[1].metrics(0).labels(0).value(), "2");
  // Everything of the first two series refused: batch -1 is absent, -2 unchanged.
  req.mutable_timeseries(0)->mutable_labels(0)->set_name("");
  RemoteWriteResult fewer = MapWriteRequest(req, "abc", limits, kNow);
  ASSERT_EQ(fewer.batches.size(), 1u);
  EXPECT_EQ(fewer.batches[0].SerializeAsString(), r.batches[1].SerializeAsString());
}

}  // namespace
}  // namespace k8i::ingest
