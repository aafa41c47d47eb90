#include "services/ingest/core/otlp.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/core/ports.h"
#include "services/ingest/core/validate.h"

namespace k8i::ingest {
namespace {

namespace cpb = opentelemetry::proto::common::v1;
namespace mpb = opentelemetry::proto::metrics::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const int64_t kNowMs = absl::ToUnixMillis(kNow);
const uint64_t kNowNs = static_cast<uint64_t>(kNowMs) * 1'000'000;
constexpr uint64_t kSecondNs = 1'000'000'000;

OtlpOptions Options() { return {.cluster = "c1", .limits = Limits{}, .now = kNow}; }

// --- Request builders -------------------------------------------------------------------------

using Attrs = std::vector<std::pair<std::string, std::string>>;

void AddAttrs(google::protobuf::RepeatedPtrField<cpb::KeyValue>* out, const Attrs& attrs) {
  for (const auto& [k, v] : attrs) {
    auto* kv = out->Add();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  }
}

mpb::NumberDataPoint Num(double v, uint64_t ns = kNowNs, const Attrs& attrs = {}) {
  mpb::NumberDataPoint p;
  p.set_time_unix_nano(ns);
  p.set_as_double(v);
  AddAttrs(p.mutable_attributes(), attrs);
  return p;
}

mpb::Metric Gauge(const std::string& name, std::vector<mpb::NumberDataPoint> points,
                  const std::string& unit = "") {
  mpb::Metric m;
  m.set_name(name);
  m.set_unit(unit);
  for (auto& p : points) *m.mutable_gauge()->add_data_points() = p;
  return m;
}

mpb::Metric Sum(const std::string& name, mpb::AggregationTemporality t, bool monotonic,
                std::vector<mpb::NumberDataPoint> points) {
  mpb::Metric m;
  m.set_name(name);
  m.mutable_sum()->set_aggregation_temporality(t);
  m.mutable_sum()->set_is_monotonic(monotonic);
  for (auto& p : points) *m.mutable_sum()->add_data_points() = p;
  return m;
}

mpb::HistogramDataPoint Hist(uint64_t count, std::optional<double> sum, std::vector<double> bounds,
                             std::vector<uint64_t> counts) {
  mpb::HistogramDataPoint p;
  p.set_time_unix_nano(kNowNs);
  p.set_count(count);
  if (sum) p.set_sum(*sum);
  for (double b : bounds) p.add_explicit_bounds(b);
  for (uint64_t c : counts) p.add_bucket_counts(c);
  return p;
}

// WideHist: one observation in a histogram of 40 bounds (43 series: count, sum, 41 buckets).
mpb::HistogramDataPoint WideHist() {
  std::vector<double> bounds;
  std::vector<uint64_t> counts(41, 0);
  for (int i = 1; i <= 40; ++i) bounds.push_back(i);
  counts[0] = 1;
  return Hist(1, 1, bounds, counts);
}

mpb::Metric Histogram(const std::string& name, mpb::AggregationTemporality t,
                      std::vector<mpb::HistogramDataPoint> points, const std::string& unit = "") {
  mpb::Metric m;
  m.set_name(name);
  m.set_unit(unit);
  m.mutable_histogram()->set_aggregation_temporality(t);
  for (auto& p : points) *m.mutable_histogram()->add_data_points() = p;
  return m;
}

OtlpExportRequest Request(const Attrs& resource, std::vector<mpb::Metric> metrics) {
  OtlpExportRequest r;
  auto* rm = r.add_resource_metrics();
  AddAttrs(rm->mutable_resource()->mutable_attributes(), resource);
  auto* sm = rm->add_scope_metrics();
  for (auto& m : metrics) *sm->add_metrics() = m;
  return r;
}

constexpr auto kCumulative = mpb::AGGREGATION_TEMPORALITY_CUMULATIVE;
constexpr auto kDelta = mpb::AGGREGATION_TEMPORALITY_DELTA;

// --- Rendering a batch compactly --------------------------------------------------------------

// "name{k=v,...} TYPE [unit=u] [node=...] ... : value@offset_ms ..."
std::vector<std::string> Render(const k8intel::v1::TelemetryBatch& b) {
  std::vector<std::string> out;
  for (const auto& s : b.metrics()) {
    std::vector<std::string> labels;
    for (const auto& l : s.labels()) labels.push_back(absl::StrCat(l.name(), "=", l.value()));
    std::string line = absl::StrCat(s.name(), "{", absl::StrJoin(labels, ","), "} ",
                                    k8intel::v1::MetricType_Name(s.type()).substr(12));
    if (!s.unit().empty()) absl::StrAppend(&line, " unit=", s.unit());
    const auto& r = s.resource();
    for (const auto& [k, v] :
         std::vector<std::pair<const char*, std::string>>{{"node", r.node_name()},
                                                          {"ns", r.namespace_name()},
                                                          {"pod", r.pod_name()},
                                                          {"uid", r.pod_uid()},
                                                          {"container", r.container_name()},
                                                          {"wk", r.workload_kind()},
                                                          {"wn", r.workload_name()},
                                                          {"pvc", r.pvc_name()},
                                                          {"device", r.device()}}) {
      if (!v.empty()) absl::StrAppend(&line, " ", k, "=", v);
    }
    line += " :";
    for (const auto& x : s.samples()) {
      absl::StrAppend(&line, " ", x.value(), "@", x.time_unix_ms() - kNowMs);
    }
    out.push_back(line);
  }
  return out;
}

// --- Mapping rules ----------------------------------------------------------------------------

struct MapCase {
  std::string name;
  std::function<OtlpExportRequest()> request;
  std::vector<std::string> series;
  int64_t accepted = 1;
  int64_t skipped = 0;
};

class MapCases : public ::testing::TestWithParam<MapCase> {};

TEST_P(MapCases, MapsToSeries) {
  const OtlpMapping m = MapOtlpMetrics(GetParam().request(), Options());
  EXPECT_EQ(Render(m.batch), GetParam().series);
  EXPECT_EQ(m.accepted_points, GetParam().accepted);
  EXPECT_EQ(m.skipped_points, GetParam().skipped);
  EXPECT_EQ(m.rejected_points, 0) << m.error_message;
  EXPECT_THAT(m.error_message, IsEmpty());
  EXPECT_EQ(m.batch.cluster(), "c1");
  // Whatever the mapping emits passes ingest's validation.
  const ValidationResult v = ValidateBatch(m.batch, Options().limits, kNow);
  EXPECT_TRUE(v.ok()) << (v.violations.empty() ? "" : v.violations[0].description);
}

INSTANTIATE_TEST_SUITE_P(
    Otlp, MapCases,
    ::testing::Values(
        MapCase{"GaugeKeepsUnit",
                [] { return Request({}, {Gauge("k8s.node.cpu.utilization", {Num(0.5)}, "1")}); },
                {"k8s_node_cpu_utilization{} GAUGE unit=1 : 0.5@0"}},
        MapCase{"GaugeIntValue",
                [] {
                  mpb::NumberDataPoint p = Num(0);
                  p.set_as_int(42);
                  return Request({}, {Gauge("pods", {p})});
                },
                {"pods{} GAUGE : 42@0"}},
        MapCase{"CumulativeMonotonicSumIsCounter",
                [] { return Request({}, {Sum("http.requests", kCumulative, true, {Num(7)})}); },
                {"http_requests{} COUNTER : 7@0"}},
        MapCase{"CumulativeNonMonotonicSumIsGauge",
                [] { return Request({}, {Sum("queue.depth", kCumulative, false, {Num(3)})}); },
                {"queue_depth{} GAUGE : 3@0"}},
        MapCase{"DeltaSumIsGaugeOfIntervalValues",
                [] { return Request({}, {Sum("requests.delta", kDelta, true, {Num(2)})}); },
                {"requests_delta{} GAUGE : 2@0"}},
        MapCase{
            "HistogramBecomesCountSumAndCumulativeBuckets",
            [] {
              return Request({},
                             {Histogram("http.duration", kCumulative,
                                        {Hist(10, 4.5, {0.1, 1, 1000000}, {2, 5, 1, 2})}, "s")});
            },
            {"http_duration_count{} COUNTER : 10@0", "http_duration_sum{} COUNTER unit=s : 4.5@0",
             "http_duration_bucket{le=0.1} COUNTER : 2@0",
             "http_duration_bucket{le=1} COUNTER : 7@0",
             "http_duration_bucket{le=1e+06} COUNTER : 8@0",
             "http_duration_bucket{le=+Inf} COUNTER : 10@0"}},
        MapCase{"HistogramWithoutBucketsOrSumIsCountOnly",
                [] {
                  return Request({},
                                 {Histogram("h", kCumulative, {Hist(3, std::nullopt, {}, {})})});
                },
                {"h_count{} COUNTER : 3@0"}},
        MapCase{"HistogramLeReplacesAnAttributeOfThatName",
                [] {
                  auto p = Hist(1, std::nullopt, {5}, {1, 0});
                  AddAttrs(p.mutable_attributes(), {{"le", "x"}});
                  return Request({}, {Histogram("h", kCumulative, {p})});
                },
                {"h_count{le=x} COUNTER : 1@0", "h_bucket{le=5} COUNTER : 1@0",
                 "h_bucket{le=+Inf} COUNTER : 1@0"}},
        MapCase{"ExponentialHistogramIsCountAndSum",
                [] {
                  mpb::Metric m;
                  m.set_name("latency");
                  m.mutable_exponential_histogram()->set_aggregation_temporality(kCumulative);
                  auto* p = m.mutable_exponential_histogram()->add_data_points();
                  p->set_time_unix_nano(kNowNs);
                  p->set_count(4);
                  p->set_sum(2.5);
                  p->set_scale(3);
                  p->mutable_positive()->add_bucket_counts(4);
                  return Request({}, {m});
                },
                {"latency_count{} COUNTER : 4@0", "latency_sum{} COUNTER : 2.5@0"}},
        MapCase{"SummaryIsCountSumAndQuantiles",
                [] {
                  mpb::Metric m;
                  m.set_name("rpc.latency");
                  m.set_unit("ms");
                  auto* p = m.mutable_summary()->add_data_points();
                  p->set_time_unix_nano(kNowNs);
                  p->set_count(5);
                  p->set_sum(50);
                  auto* q = p->add_quantile_values();
                  q->set_quantile(0.5);
                  q->set_value(8);
                  q = p->add_quantile_values();
                  q->set_quantile(0.99);
                  q->set_value(20);
                  return Request({}, {m});
                },
                {"rpc_latency_count{} COUNTER : 5@0", "rpc_latency_sum{} COUNTER unit=ms : 50@0",
                 "rpc_latency{quantile=0.5} GAUGE unit=ms : 8@0",
                 "rpc_latency{quantile=0.99} GAUGE unit=ms : 20@0"}},
        MapCase{"MetricNamesAreSanitized",
                [] {
                  return Request({}, {Gauge("http.server.request-duration", {Num(1)}),
                                      Gauge("2xx.rate", {Num(2)}), Gauge("ns:rule_ok", {Num(3)})});
                },
                {"http_server_request_duration{} GAUGE : 1@0", "_2xx_rate{} GAUGE : 2@0",
                 "ns:rule_ok{} GAUGE : 3@0"},
                3},
        MapCase{"AttributesBecomeSortedSanitizedLabels",
                [] {
                  return Request({}, {Gauge("g", {Num(1, kNowNs,
                                                      {{"http.method", "GET"},
                                                       {"net/peer", "db"},
                                                       {"9lives", "yes"},
                                                       {".hidden", "h"},
                                                       {"a-b", "1"},
                                                       {"a_b", "2"},
                                                       {"", "dropped"}})})});
                },
                {"g{_.hidden=h,_9lives=yes,a_b=1;2,http.method=GET,net_peer=db} GAUGE : 1@0"}},
        MapCase{"KubernetesResourceAttributesBecomeTheResourceRef",
                [] {
                  return Request({{"k8s.node.name", "n1"},
                                  {"k8s.namespace.name", "shop"},
                                  {"k8s.pod.name", "api-7d9f-x2"},
                                  {"k8s.pod.uid", "u-1"},
                                  {"k8s.container.name", "api"},
                                  {"k8s.replicaset.name", "api-7d9f"},
                                  {"k8s.deployment.name", "api"},
                                  {"k8s.persistentvolumeclaim.name", "data"},
                                  {"service.name", "checkout"},
                                  {"service.instance.id", "i-1"},
                                  {"host.name", "dropped"},
                                  {"k8s.cluster.name", "c1"}},
                                 {Gauge("g", {Num(1)})});
                },
                {"g{service.instance.id=i-1,service.name=checkout} GAUGE node=n1 ns=shop "
                 "pod=api-7d9f-x2 uid=u-1 container=api wk=Deployment wn=api pvc=data : 1@0"}},
        MapCase{"CronJobOutranksJob",
                [] {
                  return Request({{"k8s.job.name", "backup-123"}, {"k8s.cronjob.name", "backup"}},
                                 {Gauge("g", {Num(1)})});
                },
                {"g{} GAUGE wk=CronJob wn=backup : 1@0"}},
        MapCase{"StatefulSetDaemonSetAndBareReplicaSet",
                [] {
                  OtlpExportRequest r =
                      Request({{"k8s.statefulset.name", "db"}}, {Gauge("g", {Num(1)})});
                  *r.add_resource_metrics() =
                      Request({{"k8s.daemonset.name", "agent"}}, {Gauge("g", {Num(2)})})
                          .resource_metrics(0);
                  *r.add_resource_metrics() =
                      Request({{"k8s.replicaset.name", "rs"}}, {Gauge("g", {Num(3)})})
                          .resource_metrics(0);
                  return r;
                },
                {"g{} GAUGE wk=StatefulSet wn=db : 1@0", "g{} GAUGE wk=DaemonSet wn=agent : 2@0",
                 "g{} GAUGE wk=ReplicaSet wn=rs : 3@0"},
                3},
        MapCase{"PointAttributesRefineTheResource",
                [] {
                  return Request({{"k8s.node.name", "n1"}, {"k8s.pod.name", "a"}},
                                 {Gauge("disk.io", {Num(1, kNowNs,
                                                        {{"k8s.pod.name", "b"},
                                                         {"device", "sda"},
                                                         {"direction", "read"}})})});
                },
                {"disk_io{direction=read} GAUGE node=n1 pod=b device=sda : 1@0"}},
        MapCase{"PointsOfOneSeriesShareItAndOthersSplit",
                [] {
                  return Request({}, {Gauge("g", {Num(1, kNowNs - 2 * kSecondNs, {{"k", "a"}}),
                                                  Num(2, kNowNs - kSecondNs, {{"k", "b"}}),
                                                  Num(3, kNowNs, {{"k", "a"}})})});
                },
                {"g{k=a} GAUGE : 1@-2000 3@0", "g{k=b} GAUGE : 2@-1000"},
                3},
        MapCase{"NoRecordedValueIsSkippedNotStored",
                [] {
                  mpb::NumberDataPoint stale = Num(std::nan(""));
                  stale.set_flags(mpb::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK);
                  mpb::HistogramDataPoint stale_h = Hist(0, std::nullopt, {}, {});
                  stale_h.set_flags(mpb::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK);
                  return Request(
                      {}, {Gauge("g", {stale, Num(1)}), Histogram("h", kCumulative, {stale_h})});
                },
                {"g{} GAUGE : 1@0"},
                1,
                2},
        MapCase{"EmptyRequestMapsToNothing", [] { return OtlpExportRequest(); }, {}, 0},
        MapCase{"MetricWithoutDataHasNoPoints",
                [] {
                  mpb::Metric m;
                  m.set_name("empty");
                  return Request({}, {m});
                },
                {},
                0}),
    [](const auto& info) { return info.param.name; });

// --- Rejections -------------------------------------------------------------------------------

struct RejectCase {
  std::string name;
  std::function<OtlpExportRequest()> request;
  OtlpReject reason;
  std::string field;  // path of the first violation
  std::function<void(Limits&)> limits = [](Limits&) {};
};

class RejectCases : public ::testing::TestWithParam<RejectCase> {};

// Every case sends one bad point beside a good one: the good one is kept, the bad one counted
// under its reason and reported by path.
TEST_P(RejectCases, RejectsThePointOnly) {
  OtlpOptions o = Options();
  GetParam().limits(o.limits);
  OtlpExportRequest r = GetParam().request();
  *r.add_resource_metrics() = Request({}, {Gauge("good", {Num(1)})}).resource_metrics(0);
  const OtlpMapping m = MapOtlpMetrics(r, o);
  EXPECT_EQ(m.rejected_points, 1);
  EXPECT_EQ(m.rejected_by_reason[static_cast<int>(GetParam().reason)], 1);
  EXPECT_EQ(m.accepted_points, 1);
  EXPECT_FALSE(m.WholeRequestInvalid());
  ASSERT_EQ(m.violations.size(), 1u);
  EXPECT_EQ(m.violations[0].field, GetParam().field);
  EXPECT_EQ(m.violations[0].description, OtlpRejectText(GetParam().reason, o));
  EXPECT_THAT(m.error_message, HasSubstr(absl::StrCat("1 of ", m.points, " data point(s)")));
  EXPECT_THAT(m.error_message, HasSubstr(GetParam().field));
  ASSERT_FALSE(m.batch.metrics().empty());
  EXPECT_EQ(m.batch.metrics(m.batch.metrics_size() - 1).name(), "good");
  const ValidationResult v = ValidateBatch(m.batch, o.limits, kNow);
  EXPECT_TRUE(v.ok()) << (v.violations.empty() ? "" : v.violations[0].description);
}

const std::string kGauge0 = "resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]";

INSTANTIATE_TEST_SUITE_P(
    Otlp, RejectCases,
    ::testing::Values(
        RejectCase{"OtherCluster",
                   [] {
                     return Request({{"k8s.cluster.name", "c2"}}, {Gauge("g", {Num(1)})});
                   },
                   OtlpReject::kClusterMismatch, kGauge0},
        RejectCase{
            "OtherClusterOnThePoint",
            [] {
              return Request({}, {Gauge("g", {Num(1, kNowNs, {{"k8s.cluster.name", "x"}})})});
            },
            OtlpReject::kClusterMismatch, kGauge0},
        RejectCase{"NoTimestamp", [] { return Request({}, {Gauge("g", {Num(1, 0)})}); },
                   OtlpReject::kNoTimestamp, kGauge0},
        RejectCase{
            "OlderThanRetention",
            [] { return Request({}, {Gauge("g", {Num(1, kNowNs - 31ull * 86'400 * kSecondNs)})}); },
            OtlpReject::kTooOld, kGauge0},
        // Within a minute of the bound: ingest validates a moment later and must still accept.
        RejectCase{"AtTheRetentionBound",
                   [] {
                     return Request({}, {Gauge("g", {Num(1, kNowNs - 30ull * 86'400 * kSecondNs +
                                                                30 * kSecondNs)})});
                   },
                   OtlpReject::kTooOld, kGauge0},
        RejectCase{"TooFarInTheFuture",
                   [] { return Request({}, {Gauge("g", {Num(1, kNowNs + 11 * 60 * kSecondNs)})}); },
                   OtlpReject::kTooNew, kGauge0},
        RejectCase{"NoValue",
                   [] {
                     mpb::NumberDataPoint p = Num(1);
                     p.clear_as_double();
                     return Request({}, {Gauge("g", {p})});
                   },
                   OtlpReject::kNoValue, kGauge0},
        RejectCase{"NaNWithoutTheNoRecordedValueFlag",
                   [] { return Request({}, {Gauge("g", {Num(std::nan(""))})}); },
                   OtlpReject::kNotFinite, kGauge0},
        RejectCase{"Infinite",
                   [] {
                     return Request({},
                                    {Gauge("g", {Num(std::numeric_limits<double>::infinity())})});
                   },
                   OtlpReject::kNotFinite, kGauge0},
        RejectCase{"HistogramSumNaN",
                   [] {
                     return Request({},
                                    {Histogram("h", kCumulative, {Hist(1, std::nan(""), {}, {})})});
                   },
                   OtlpReject::kNotFinite,
                   "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0]"},
        RejectCase{"SumWithoutTemporality",
                   [] {
                     return Request(
                         {}, {Sum("s", mpb::AGGREGATION_TEMPORALITY_UNSPECIFIED, true, {Num(1)})});
                   },
                   OtlpReject::kUnspecifiedTemporality,
                   "resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0]"},
        RejectCase{"DeltaHistogram",
                   [] {
                     return Request({}, {Histogram("h", kDelta, {Hist(1, 1, {1}, {1, 0})})});
                   },
                   OtlpReject::kDeltaHistogram,
                   "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0]"},
        RejectCase{"DeltaExponentialHistogram",
                   [] {
                     mpb::Metric m;
                     m.set_name("e");
                     m.mutable_exponential_histogram()->set_aggregation_temporality(kDelta);
                     auto* p = m.mutable_exponential_histogram()->add_data_points();
                     p->set_time_unix_nano(kNowNs);
                     p->set_count(1);
                     return Request({}, {m});
                   },
                   OtlpReject::kDeltaHistogram,
                   "resource_metrics[0].scope_metrics[0].metrics[0].exponential_histogram."
                   "data_points[0]"},
        RejectCase{
            "BucketCountsNotOneLongerThanBounds",
            [] {
              return Request({}, {Histogram("h", kCumulative, {Hist(3, 1, {1, 2}, {1, 2})})});
            },
            OtlpReject::kBadBuckets,
            "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0]"},
        RejectCase{
            "BoundsNotIncreasing",
            [] {
              return Request({}, {Histogram("h", kCumulative, {Hist(3, 1, {2, 1}, {1, 1, 1})})});
            },
            OtlpReject::kBadBuckets,
            "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0]"},
        RejectCase{"EmptyMetricName", [] { return Request({}, {Gauge("", {Num(1)})}); },
                   OtlpReject::kBadName, kGauge0},
        RejectCase{"MetricNameTooLong",
                   [] { return Request({}, {Gauge(std::string(201, 'm'), {Num(1)})}); },
                   OtlpReject::kBadName, kGauge0},
        RejectCase{"TooManyAttributes",
                   [] {
                     Attrs many;
                     for (int i = 0; i < 65; ++i) many.emplace_back(absl::StrCat("a", i), "v");
                     return Request({}, {Gauge("g", {Num(1, kNowNs, many)})});
                   },
                   OtlpReject::kBadLabels, kGauge0},
        RejectCase{
            "AttributeValueTooLong",
            [] {
              return Request({}, {Gauge("g", {Num(1, kNowNs, {{"k", std::string(2049, 'v')}})})});
            },
            OtlpReject::kBadLabels, kGauge0},
        // A request holds kOtlpBatchesPerRequest (10) batches: 30 series or samples here. The
        // histogram point needs 43 (count, sum, 41 buckets); "good" 1.
        RejectCase{"BeyondTheSeriesPerBatchLimit",
                   [] {
                     return Request({}, {Histogram("h", kCumulative, {WideHist()})});
                   },
                   OtlpReject::kBatchFull,
                   "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0]",
                   [](Limits& l) { l.max_series_per_batch = 3; }},
        RejectCase{"BeyondTheSamplesPerBatchLimit",
                   [] {
                     return Request({}, {Histogram("h", kCumulative, {WideHist()})});
                   },
                   OtlpReject::kBatchFull,
                   "resource_metrics[0].scope_metrics[0].metrics[0].histogram.data_points[0]",
                   [](Limits& l) { l.max_samples_per_batch = 3; }}),
    [](const auto& info) { return info.param.name; });

TEST(OtlpMapTest, AllPointsBadIsAWholeRequestError) {
  const OtlpMapping m = MapOtlpMetrics(
      Request({{"k8s.cluster.name", "c2"}}, {Gauge("g", {Num(1), Num(2)})}), Options());
  EXPECT_TRUE(m.WholeRequestInvalid());
  EXPECT_EQ(m.rejected_points, 2);
  EXPECT_EQ(m.batch.metrics_size(), 0);
  EXPECT_THAT(m.error_message, HasSubstr("2 of 2 data point(s) rejected: 2 with resource attribute "
                                         "k8s.cluster.name other than the token's cluster \"c1\""));
}

TEST(OtlpMapTest, OnlyStalenessMarkersIsNoError) {
  mpb::NumberDataPoint stale = Num(0);
  stale.set_flags(mpb::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK);
  const OtlpMapping m = MapOtlpMetrics(Request({}, {Gauge("g", {stale})}), Options());
  EXPECT_FALSE(m.WholeRequestInvalid());
  EXPECT_EQ(m.skipped_points, 1);
  EXPECT_EQ(m.batch.metrics_size(), 0);
}

TEST(OtlpMapTest, MessageListsReasonsInOrderWithCountsAndViolationsAreCapped) {
  OtlpOptions o = Options();
  o.limits.max_reported_violations = 2;
  const OtlpMapping m = MapOtlpMetrics(
      Request({}, {Gauge("g", {Num(1, 0), Num(std::nan("")), Num(1, 0), Num(5)})}), o);
  EXPECT_EQ(m.rejected_points, 3);
  EXPECT_EQ(m.violations.size(), 2u);
  EXPECT_EQ(m.error_message,
            "3 of 4 data point(s) rejected: 2 without time_unix_nano (first at "
            "resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]); 1 with a NaN "
            "or infinite value (first at "
            "resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[1])");
}

// --- Determinism and batch ids ----------------------------------------------------------------

OtlpExportRequest Mixed() {
  return Request({{"k8s.pod.name", "p"}, {"service.name", "s"}},
                 {Gauge("g", {Num(1, kNowNs, {{"z", "1"}, {"a", "2"}}), Num(std::nan(""))}),
                  Sum("c", kCumulative, true, {Num(3)}),
                  Histogram("h", kCumulative, {Hist(2, 1, {1}, {1, 1})})});
}

TEST(OtlpMapTest, SameRequestGivesTheSameBatchBytes) {
  const OtlpMapping a = MapOtlpMetrics(Mixed(), Options());
  const OtlpMapping b = MapOtlpMetrics(Mixed(), Options());
  EXPECT_EQ(DeterministicPayload(a.batch), DeterministicPayload(b.batch));
  EXPECT_EQ(a.error_message, b.error_message);
}

TEST(OtlpMapTest, BatchIdHashesTheRequest) {
  const std::string id = OtlpBatchId(Mixed());
  EXPECT_EQ(id, OtlpBatchId(Mixed()));
  EXPECT_EQ(id.size(), 45u);
  EXPECT_EQ(id.substr(0, 5), "otlp-");
  EXPECT_TRUE(IsValidId(id, Limits{}.max_batch_id_length));
  OtlpExportRequest other = Mixed();
  other.mutable_resource_metrics(0)->mutable_scope_metrics(0)->mutable_metrics(0)->set_name("g2");
  EXPECT_NE(OtlpBatchId(other), id);
  EXPECT_EQ(MapOtlpMetrics(Mixed(), Options()).batch.batch_id(), id);
}

// --- Names and values -------------------------------------------------------------------------

TEST(OtlpNamesTest, MetricAndLabelNames) {
  EXPECT_EQ(OtlpMetricName("k8s.pod.cpu.time"), "k8s_pod_cpu_time");
  EXPECT_EQ(OtlpMetricName("a-b/c d"), "a_b_c_d");
  EXPECT_EQ(OtlpMetricName("1up"), "_1up");
  EXPECT_EQ(OtlpMetricName("job:rate5m"), "job:rate5m");
  EXPECT_EQ(OtlpMetricName(""), "");
  EXPECT_EQ(OtlpLabelName("http.route"), "http.route");
  EXPECT_EQ(OtlpLabelName("a:b"), "a_b");
  EXPECT_EQ(OtlpLabelName(".x"), "_.x");
  EXPECT_EQ(OtlpLabelName("0x"), "_0x");
  EXPECT_TRUE(IsValidLabelName(OtlpLabelName("-weird key!")));
  EXPECT_TRUE(IsValidMetricName(OtlpMetricName("9.weird-name!")));
}

TEST(OtlpNamesTest, ValueText) {
  auto text = [](const std::function<void(cpb::AnyValue&)>& set) {
    cpb::AnyValue v;
    set(v);
    return OtlpValueText(v);
  };
  EXPECT_EQ(text([](auto& v) { v.set_string_value("GET"); }), "GET");
  EXPECT_EQ(text([](auto& v) { v.set_bool_value(true); }), "true");
  EXPECT_EQ(text([](auto& v) { v.set_int_value(-42); }), "-42");
  EXPECT_EQ(text([](auto& v) { v.set_double_value(0.25); }), "0.25");
  EXPECT_EQ(text([](auto& v) { v.set_bytes_value("\x01\x02"); }), "AQI=");
  EXPECT_EQ(text([](auto&) {}), "");
  EXPECT_EQ(text([](auto& v) {
              auto* a = v.mutable_array_value();
              a->add_values()->set_string_value("a\"b");
              a->add_values()->set_int_value(1);
              a->add_values()->set_double_value(std::nan(""));
              a->add_values();
            }),
            R"(["a\"b",1,"NaN",null])");
  EXPECT_EQ(text([](auto& v) {
              auto* kv = v.mutable_kvlist_value()->add_values();
              kv->set_key("k");
              kv->mutable_value()->set_bool_value(false);
            }),
            R"({"k":false})");
}

// --- Wire compatibility -----------------------------------------------------------------------
// Bytes written by hand from the OTLP field numbers and wire types, as an upstream sender
// writes them: the messages in proto/opentelemetry must read them back.

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string Tag(int field, int wire_type) { return Varint((field << 3) | wire_type); }
std::string Len(int field, const std::string& body) {
  return Tag(field, 2) + Varint(body.size()) + body;
}
std::string Fixed64(int field, uint64_t v) {
  std::string out = Tag(field, 1);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
std::string Double(int field, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return Fixed64(field, bits);
}
std::string PackedFixed64(int field, const std::vector<uint64_t>& vs) {
  std::string body;
  for (uint64_t v : vs) body += Fixed64(1, v).substr(1);
  return Len(field, body);
}

TEST(OtlpWireTest, ReadsWhatUpstreamSendersWrite) {
  const std::string kv = Len(1, "k8s.pod.name") + Len(2, Len(1, "api-0"));
  const std::string number = Len(7, Len(1, "method") + Len(2, Len(1, "GET"))) + Fixed64(2, 5) +
                             Fixed64(3, kNowNs) + Double(4, 1.5) + Tag(8, 0) + Varint(1);
  const std::string sum = Len(1, number) + Tag(2, 0) + Varint(2) + Tag(3, 0) + Varint(1);
  double b1 = 0.5;
  uint64_t b1_bits;
  std::memcpy(&b1_bits, &b1, sizeof b1_bits);
  const std::string hist_point = Len(9, kv) + Fixed64(3, kNowNs) + Fixed64(4, 3) + Double(5, 2.0) +
                                 PackedFixed64(6, {1, 2}) + PackedFixed64(7, {b1_bits}) +
                                 Tag(10, 0) + Varint(0) + Double(11, 0.1) + Double(12, 0.9);
  const std::string hist = Len(1, hist_point) + Tag(2, 0) + Varint(2);
  const std::string metric_sum = Len(1, "requests") + Len(3, "1") + Len(7, sum);
  const std::string metric_hist = Len(1, "latency") + Len(9, hist);
  const std::string scope = Len(1, Len(1, "otelcol") + Len(2, "0.90")) + Len(2, metric_sum) +
                            Len(2, metric_hist) + Len(3, "https://schema");
  const std::string resource_metrics = Len(1, Len(1, kv)) + Len(2, scope) + Len(3, "u");
  const std::string wire = Len(1, resource_metrics);

  OtlpExportRequest r;
  ASSERT_TRUE(r.ParseFromString(wire));
  ASSERT_EQ(r.resource_metrics_size(), 1);
  const auto& rm = r.resource_metrics(0);
  EXPECT_EQ(rm.resource().attributes(0).key(), "k8s.pod.name");
  EXPECT_EQ(rm.resource().attributes(0).value().string_value(), "api-0");
  EXPECT_EQ(rm.schema_url(), "u");
  const auto& sm = rm.scope_metrics(0);
  EXPECT_EQ(sm.scope().name(), "otelcol");
  EXPECT_EQ(sm.scope().version(), "0.90");
  EXPECT_EQ(sm.schema_url(), "https://schema");
  const auto& m = sm.metrics(0);
  EXPECT_EQ(m.name(), "requests");
  EXPECT_EQ(m.unit(), "1");
  ASSERT_TRUE(m.has_sum());
  EXPECT_EQ(m.sum().aggregation_temporality(), kCumulative);
  EXPECT_TRUE(m.sum().is_monotonic());
  const auto& p = m.sum().data_points(0);
  EXPECT_EQ(p.attributes(0).key(), "method");
  EXPECT_EQ(p.start_time_unix_nano(), 5u);
  EXPECT_EQ(p.time_unix_nano(), kNowNs);
  EXPECT_EQ(p.as_double(), 1.5);
  EXPECT_EQ(p.flags(), 1u);
  const auto& h = sm.metrics(1).histogram();
  EXPECT_EQ(h.aggregation_temporality(), kCumulative);
  const auto& hp = h.data_points(0);
  EXPECT_EQ(hp.attributes(0).value().string_value(), "api-0");
  EXPECT_EQ(hp.count(), 3u);
  EXPECT_EQ(hp.sum(), 2.0);
  EXPECT_THAT(hp.bucket_counts(), ElementsAre(1, 2));
  EXPECT_THAT(hp.explicit_bounds(), ElementsAre(0.5));
  EXPECT_EQ(hp.min(), 0.1);
  EXPECT_EQ(hp.max(), 0.9);
  EXPECT_TRUE(r.GetReflection()->GetUnknownFields(r).empty());

  // And an as_int point (sfixed64, field 6).
  mpb::NumberDataPoint ip;
  ASSERT_TRUE(ip.ParseFromString(Fixed64(6, static_cast<uint64_t>(-7))));
  EXPECT_EQ(ip.as_int(), -7);
}

TEST(OtlpWireTest, WritesThePartialSuccessAsUpstreamReadsIt) {
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceResponse resp;
  resp.mutable_partial_success()->set_rejected_data_points(3);
  resp.mutable_partial_success()->set_error_message("bad");
  EXPECT_EQ(resp.SerializeAsString(), Len(1, Tag(1, 0) + Varint(3) + Len(2, "bad")));
}

}  // namespace
}  // namespace k8i::ingest
