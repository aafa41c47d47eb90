// MetricsService in process against the real PostgreSQL: telemetry written through ingest's
// real store (so rollups are maintained as in production), read through the gRPC service.
// Every aggregation, at steps served from raw samples, 5-minute and 1-hour rollups, must equal
// a naive computation over telemetry.samples; plus tenant isolation, roles, validation, the
// series cap, the summary, and index use.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/auth/grpc_auth.h"
#include "libs/grpcx/status.h"
#include "services/ingest/store/pg_batch_store.h"
#include "services/ingest/store/pg_rollups.h"
#include "services/inventory/auth_setup.h"
#include "services/inventory/testing/harness.h"

namespace k8i::inventory::metrics_api {
namespace {

namespace v1 = ::k8intel::v1;

constexpr int64_t kDay = 24 * kHourMs;
constexpr int64_t kT0 = 1710028800000;  // 2024-03-10T00:00:00Z
constexpr char kCpu[] = "k8s_container_cpu_usage_cores";

struct Sample {
  int64_t ms;
  double value;
};

// The series a test writes: pods of namespace "shop" (and one elsewhere), one container each.
struct SeriesDef {
  std::string ns, pod;
};

v1::MetricSeries MakeSeries(const SeriesDef& d, const char* metric,
                            const std::vector<Sample>& samples) {
  v1::MetricSeries s;
  s.set_name(metric);
  s.set_type(v1::METRIC_TYPE_GAUGE);
  s.set_unit("1");
  s.mutable_resource()->set_namespace_name(d.ns);
  s.mutable_resource()->set_pod_name(d.pod);
  s.mutable_resource()->set_container_name("app");
  s.mutable_resource()->set_node_name("node-1");
  for (const Sample& x : samples) {
    auto* o = s.add_samples();
    o->set_time_unix_ms(x.ms);
    o->set_value(x.value);
  }
  return s;
}

google::protobuf::Timestamp Ts(int64_t ms) {
  google::protobuf::Timestamp t;
  t.set_seconds(ms / 1000);
  t.set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
  return t;
}
google::protobuf::Duration Dur(int64_t ms) {
  google::protobuf::Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
  return d;
}
int64_t Ms(const google::protobuf::Timestamp& t) { return t.seconds() * 1000 + t.nanos() / 1'000'000; }

// Naive per-bucket aggregation of one series' raw samples, as documented in metrics.proto.
std::map<int64_t, Point> Naive(std::vector<Sample> samples, const TimeRange& r, v1::Aggregation agg) {
  std::map<int64_t, std::vector<Sample>> buckets;
  for (const Sample& s : samples) {
    if (s.ms < r.start_ms || s.ms >= r.end_ms) continue;
    buckets[r.start_ms + (s.ms - r.start_ms) / r.step_ms * r.step_ms].push_back(s);
  }
  std::map<int64_t, Point> out;
  for (auto& [t, xs] : buckets) {
    std::vector<double> v;
    for (const Sample& s : xs) v.push_back(s.value);
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    auto pct = [&](double p) {
      const double x = p * static_cast<double>(v.size() - 1);
      const size_t lo = static_cast<size_t>(std::floor(x)), hi = static_cast<size_t>(std::ceil(x));
      return v[lo] + (v[hi] - v[lo]) * (x - static_cast<double>(lo));
    };
    const Sample last = *std::max_element(xs.begin(), xs.end(), [](const Sample& a, const Sample& b) {
      return std::tie(a.ms, a.value) < std::tie(b.ms, b.value);
    });
    double value = 0;
    switch (agg) {
      case v1::AGGREGATION_AVG: value = sum / static_cast<double>(v.size()); break;
      case v1::AGGREGATION_MIN: value = v.front(); break;
      case v1::AGGREGATION_MAX: value = v.back(); break;
      case v1::AGGREGATION_SUM: value = sum; break;
      case v1::AGGREGATION_COUNT: value = static_cast<double>(v.size()); break;
      case v1::AGGREGATION_P50: value = pct(0.5); break;
      case v1::AGGREGATION_P90: value = pct(0.9); break;
      case v1::AGGREGATION_P95: value = pct(0.95); break;
      case v1::AGGREGATION_P99: value = pct(0.99); break;
      case v1::AGGREGATION_LAST: value = last.value; break;
      default: ADD_FAILURE() << "aggregation " << agg;
    }
    out[t] = {t, value, static_cast<int64_t>(v.size())};
  }
  return out;
}

bool Near(double got, double want) {
  return std::abs(got - want) <= 1e-9 * std::max(1.0, std::abs(want));
}

std::string LabelValue(const v1::TimeSeries& s, const std::string& name) {
  for (const auto& l : s.labels()) {
    if (l.name() == name) return l.value();
  }
  return "";
}

class MetricsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    auto h = testing::InventoryHarness::Start();
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    ASSERT_TRUE(ingest::ApplyMigrations(h_->pool()).ok());
    writer_ = std::make_unique<ingest::PgBatchStore>(&h_->pool(), &RealClock::Instance());
    a_ = h_->Tenant("a");
    b_ = h_->Tenant("b");
    auto ka = h_->CreateKey(a_, auth::Role::kViewer);
    auto kb = h_->CreateKey(b_, auth::Role::kViewer);
    ASSERT_TRUE(ka.ok() && kb.ok());
    key_a_ = ka->key;
    key_b_ = kb->key;
    stub_ = h_->NewMetricsStub();
  }

  // Write stores one batch for `tenant` / cluster c1 through ingest's store and, unless told
  // otherwise, merges it into the rollups through the rollup consumer's handler (a resent
  // batch's messages are found processed).
  void Write(const std::string& tenant, const std::string& id,
             const std::vector<v1::MetricSeries>& series, bool want_duplicate = false,
             bool apply_rollups = true) {
    v1::TelemetryBatch b;
    b.set_batch_id(id);
    b.set_cluster("c1");
    for (const auto& s : series) *b.add_metrics() = s;
    auto r = writer_->Write({tenant, "c1"}, b, absl::StrCat("sha-", id));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->duplicate, want_duplicate) << id;
    if (apply_rollups) {
      auto applied = ingest::ApplyRollupsNow(h_->pool(), {tenant, "c1"}, b);
      ASSERT_TRUE(applied.ok()) << applied;
    }
  }

  grpc::Status Query(const std::string& key, const v1::QueryMetricRequest& req,
                     v1::QueryMetricResponse* resp) {
    grpc::ClientContext ctx;
    if (!key.empty()) ctx.AddMetadata("authorization", "Bearer " + key);
    return stub_->QueryMetric(&ctx, req, resp);
  }

  // Raw samples of `tenant` per pod, read back from telemetry.samples.
  std::map<std::string, std::vector<Sample>> RawByPod(const std::string& tenant,
                                                       const std::string& metric) {
    std::map<std::string, std::vector<Sample>> out;
    auto s = h_->pool().WithTransaction([&](pqxx::work& tx) {
      out.clear();
      for (const auto& row : tx.exec_params(
               "SELECT s.labels->>'k8s.pod.name', round(extract(epoch FROM x.ts) * 1000)::bigint, "
               "x.value FROM telemetry.samples x JOIN telemetry.series s ON s.tenant_id = "
               "x.tenant_id AND s.series_id = x.series_id WHERE x.tenant_id = $1 AND s.name = $2",
               tenant, metric)) {
        out[row[0].as<std::string>()].push_back({row[1].as<int64_t>(), row[2].as<double>()});
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::unique_ptr<testing::InventoryHarness> h_;
  std::unique_ptr<ingest::PgBatchStore> writer_;
  std::unique_ptr<v1::MetricsService::Stub> stub_;
  std::string a_, b_, key_a_, key_b_;
};

// Three days of samples every ~40 s for four pods, written in shuffled batches (late and
// out-of-order samples), with equal timestamps, a resent batch, and tenant B holding the same
// series with other values. Every aggregation at every step equals the naive computation.
TEST_F(MetricsServiceTest, EveryAggregationEqualsNaiveOverRawSamples) {
  const std::vector<SeriesDef> defs = {
      {"shop", "web-0"}, {"shop", "web-1"}, {"shop", "web-2"}, {"other", "db-0"}};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> value(0.001, 10.0);
  // Chunks of (series, samples) to shuffle into batches.
  std::vector<std::pair<size_t, std::vector<Sample>>> chunks;
  size_t total = 0;
  for (size_t i = 0; i < defs.size(); ++i) {
    std::vector<Sample> run;
    for (int64_t t = kT0 + static_cast<int64_t>(rng() % 30'000); t < kT0 + 3 * kDay;
         t += 20'000 + static_cast<int64_t>(rng() % 40'000)) {
      run.push_back({t, value(rng)});
      if (rng() % 50 == 0) run.push_back({t, value(rng)});  // equal timestamps
      if (run.size() == 300) {
        total += run.size();
        chunks.emplace_back(i, std::move(run));
        run.clear();
      }
    }
    total += run.size();
    chunks.emplace_back(i, std::move(run));
  }
  std::shuffle(chunks.begin(), chunks.end(), rng);
  std::vector<std::vector<v1::MetricSeries>> batches;
  for (size_t c = 0; c < chunks.size(); c += 5) {
    std::vector<v1::MetricSeries> batch;
    for (size_t k = c; k < std::min(chunks.size(), c + 5); ++k) {
      batch.push_back(MakeSeries(defs[chunks[k].first], kCpu, chunks[k].second));
    }
    batches.push_back(std::move(batch));
  }
  for (size_t i = 0; i < batches.size(); ++i) Write(a_, absl::StrCat("a-", i), batches[i]);
  Write(a_, "a-3", batches[3], /*want_duplicate=*/true);  // resent: counted once
  // Tenant B: the same series (same cluster and labels) with other values, plus one more pod.
  Write(b_, "b-0", {MakeSeries(defs[0], kCpu, {{kT0 + 1000, 1e6}, {kT0 + 2 * kDay, 2e6}}),
                    MakeSeries({"shop", "secret"}, kCpu, {{kT0 + 5000, 3e6}})});

  const auto raw = RawByPod(a_, kCpu);
  size_t stored = 0;
  for (const auto& [pod, xs] : raw) stored += xs.size();
  ASSERT_EQ(stored, total);  // the resent batch was not stored again

  struct RangeCase {
    TimeRange r;
    v1::DataSource source;  // for non-percentile aggregations
  };
  const std::vector<RangeCase> ranges = {
      {{kT0, kT0 + 3 * kDay, kMinuteMs}, v1::DATA_SOURCE_RAW},
      {{kT0, kT0 + 3 * kDay, k5mMs}, v1::DATA_SOURCE_ROLLUP_5M},
      {{kT0, kT0 + 3 * kDay, kHourMs}, v1::DATA_SOURCE_ROLLUP_1H},
      {{kT0, kT0 + 3 * kDay, kDay}, v1::DATA_SOURCE_ROLLUP_1H},
      {{kT0 + 10 * kMinuteMs, kT0 + 2 * kDay + 10 * kMinuteMs, kHourMs},
       v1::DATA_SOURCE_ROLLUP_5M},
      {{kT0 + 12'345, kT0 + kDay + 12'345, kHourMs}, v1::DATA_SOURCE_RAW},
  };
  const std::vector<v1::Aggregation> aggs = {
      v1::AGGREGATION_AVG, v1::AGGREGATION_MIN, v1::AGGREGATION_MAX,  v1::AGGREGATION_SUM,
      v1::AGGREGATION_COUNT, v1::AGGREGATION_P50, v1::AGGREGATION_P90, v1::AGGREGATION_P95,
      v1::AGGREGATION_P99, v1::AGGREGATION_LAST};
  int compared = 0;
  for (const RangeCase& rc : ranges) {
    for (v1::Aggregation agg : aggs) {
      SCOPED_TRACE(absl::StrCat("step ", rc.r.step_ms, " start ", rc.r.start_ms, " agg ",
                                v1::Aggregation_Name(agg)));
      v1::QueryMetricRequest req;
      req.set_metric(kCpu);
      req.set_resource("clusters/c1/namespaces/shop");
      *req.mutable_start_time() = Ts(rc.r.start_ms);
      *req.mutable_end_time() = Ts(rc.r.end_ms);
      *req.mutable_step() = Dur(rc.r.step_ms);
      req.set_aggregation(agg);
      v1::QueryMetricResponse resp;
      grpc::Status st = Query(key_a_, req, &resp);
      ASSERT_TRUE(st.ok()) << st.error_message();
      const bool pct = agg >= v1::AGGREGATION_P50 && agg <= v1::AGGREGATION_P99;
      EXPECT_EQ(resp.source(), pct ? v1::DATA_SOURCE_RAW : rc.source);
      EXPECT_EQ(resp.matched_series(), 3);
      ASSERT_EQ(resp.series_size(), 3);
      std::map<int64_t, double> reduced_sum;  // naive SERIES_REDUCTION_SUM
      for (const auto& s : resp.series()) {
        const std::string pod = LabelValue(s, "k8s.pod.name");
        EXPECT_EQ(s.cluster(), "clusters/c1");
        EXPECT_EQ(LabelValue(s, "k8s.namespace.name"), "shop");
        const auto want = Naive(raw.at(pod), rc.r, agg);
        ASSERT_EQ(static_cast<size_t>(s.points_size()), want.size()) << pod;
        for (const auto& p : s.points()) {
          auto it = want.find(Ms(p.time()));
          ASSERT_NE(it, want.end()) << pod << " " << Ms(p.time());
          EXPECT_EQ(p.sample_count(), it->second.sample_count);
          EXPECT_TRUE(Near(p.value(), it->second.value))
              << pod << " at " << Ms(p.time()) << ": " << p.value() << " vs " << it->second.value;
          reduced_sum[it->first] += it->second.value;
          ++compared;
        }
      }
      req.set_series_reduction(v1::SERIES_REDUCTION_SUM);
      v1::QueryMetricResponse reduced;
      st = Query(key_a_, req, &reduced);
      ASSERT_TRUE(st.ok()) << st.error_message();
      ASSERT_EQ(reduced.series_size(), 1);
      ASSERT_EQ(static_cast<size_t>(reduced.series(0).points_size()), reduced_sum.size());
      for (const auto& p : reduced.series(0).points()) {
        EXPECT_TRUE(Near(p.value(), reduced_sum[Ms(p.time())])) << Ms(p.time());
      }
    }
  }
  EXPECT_GT(compared, 100'000);

  // Tenant B sees its own two series of namespace shop, never A's.
  v1::QueryMetricRequest req;
  req.set_metric(kCpu);
  req.set_resource("clusters/c1/namespaces/shop");
  *req.mutable_start_time() = Ts(kT0);
  *req.mutable_end_time() = Ts(kT0 + 3 * kDay);
  *req.mutable_step() = Dur(kDay);
  req.set_aggregation(v1::AGGREGATION_MAX);
  v1::QueryMetricResponse resp;
  ASSERT_TRUE(Query(key_b_, req, &resp).ok());
  ASSERT_EQ(resp.series_size(), 2);
  for (const auto& s : resp.series()) {
    for (const auto& p : s.points()) EXPECT_GE(p.value(), 1e6);
  }
  // ... and A's label selector for B's extra pod finds nothing.
  req.set_resource("");
  req.set_label_selector("k8s.pod.name=secret");
  ASSERT_TRUE(Query(key_a_, req, &resp).ok());
  EXPECT_EQ(resp.matched_series(), 0);
  EXPECT_EQ(resp.series_size(), 0);

  // Summary of the namespace, hourly averages over the first day: CPU sums the pods' averages.
  v1::SummarizeResourceRequest sreq;
  sreq.set_resource("clusters/c1/namespaces/shop");
  *sreq.mutable_timespan() = Dur(kDay);
  *sreq.mutable_interval() = Dur(kHourMs);
  sreq.set_aggregation(v1::AGGREGATION_AVG);
  *sreq.mutable_end_time() = Ts(kT0 + kDay);
  v1::SummarizeResourceResponse sresp;
  grpc::ClientContext sctx;
  sctx.AddMetadata("authorization", "Bearer " + key_a_);
  grpc::Status st = stub_->SummarizeResource(&sctx, sreq, &sresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(sresp.source(), v1::DATA_SOURCE_ROLLUP_1H);
  EXPECT_EQ(Ms(sresp.start_time()), kT0);
  ASSERT_EQ(sresp.metrics_size(), 2);
  const v1::MetricSummary& cpu = sresp.metrics(0);
  EXPECT_EQ(cpu.metric(), kCpu);
  EXPECT_EQ(cpu.reduction(), v1::SERIES_REDUCTION_SUM);
  EXPECT_EQ(cpu.series_count(), 3);
  std::map<int64_t, double> want;
  for (const char* pod : {"web-0", "web-1", "web-2"}) {
    for (const auto& [t, p] : Naive(raw.at(pod), {kT0, kT0 + kDay, kHourMs}, v1::AGGREGATION_AVG)) {
      want[t] += p.value;
    }
  }
  ASSERT_EQ(static_cast<size_t>(cpu.points_size()), want.size());
  double mn = 1e300, mx = -1e300, sum = 0;
  for (const auto& p : cpu.points()) {
    EXPECT_TRUE(Near(p.value(), want[Ms(p.time())]));
    mn = std::min(mn, p.value());
    mx = std::max(mx, p.value());
    sum += p.value();
  }
  EXPECT_EQ(cpu.min(), mn);
  EXPECT_EQ(cpu.max(), mx);
  EXPECT_TRUE(Near(cpu.avg(), sum / cpu.points_size()));
  EXPECT_EQ(cpu.last(), cpu.points(cpu.points_size() - 1).value());
  EXPECT_EQ(sresp.metrics(1).metric(), "k8s_container_memory_working_set_bytes");
  EXPECT_EQ(sresp.metrics(1).points_size(), 0);
  EXPECT_EQ(sresp.metrics(1).series_count(), 0);

  // The rollup and raw queries are served by the primary-key / (series_id, ts) indexes.
  AggregateSpec spec{.series_ids = {1, 2},
                     .range = {kT0, kT0 + kDay, kHourMs},
                     .aggregation = Aggregation::kAvg,
                     .source = Source::kRollup1h};
  for (Source src : {Source::kRollup1h, Source::kRollup5m, Source::kRaw}) {
    spec.source = src;
    auto plan = h_->metrics_store().Explain(a_, spec, /*seqscan_off=*/true);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_TRUE(absl::StrContains(*plan, "Index")) << *plan;
    EXPECT_FALSE(absl::StrContains(*plan, "Seq Scan")) << *plan;
  }
}

TEST_F(MetricsServiceTest, ViewersMayCallEveryMethodAndAnonymousMayNot) {
  const auto* svc =
      v1::QueryMetricRequest::descriptor()->file()->FindServiceByName("MetricsService");
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(auth::UncoveredMethods(AdminPolicy(), *svc).empty());
  v1::QueryMetricRequest req;
  req.set_metric(kCpu);
  req.set_resource("clusters/c1");
  *req.mutable_start_time() = Ts(kT0);
  *req.mutable_end_time() = Ts(kT0 + kHourMs);
  *req.mutable_step() = Dur(kMinuteMs);
  req.set_aggregation(v1::AGGREGATION_AVG);
  v1::QueryMetricResponse resp;
  EXPECT_TRUE(Query(key_a_, req, &resp).ok());
  EXPECT_EQ(Query("", req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::SummarizeResourceRequest sreq;
  sreq.set_resource("clusters/c1/nodes/node-1");
  *sreq.mutable_timespan() = Dur(kDay);
  *sreq.mutable_interval() = Dur(kHourMs);
  sreq.set_aggregation(v1::AGGREGATION_MAX);
  v1::SummarizeResourceResponse sresp;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + key_a_);
  grpc::Status st = stub_->SummarizeResource(&ctx, sreq, &sresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(sresp.metrics_size(), static_cast<int>(SummaryMetrics(ResourceKind::kNode).size()));
  EXPECT_EQ(Ms(sresp.end_time()) % kHourMs, 0);  // default end: now rounded up to the interval
}

// Violations of one request, by field.
std::set<std::string> Fields(const grpc::Status& st) {
  std::set<std::string> out;
  for (const auto& v : grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st))) out.insert(v.field);
  return out;
}

TEST_F(MetricsServiceTest, BadRequestsNameEveryBadField) {
  v1::QueryMetricResponse resp;
  grpc::Status st = Query(key_a_, v1::QueryMetricRequest(), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Fields(st), (std::set<std::string>{"metric", "resource", "start_time", "end_time",
                                               "step", "aggregation"}));
  v1::QueryMetricRequest good;
  good.set_metric(kCpu);
  good.set_resource("clusters/c1");
  *good.mutable_start_time() = Ts(kT0);
  *good.mutable_end_time() = Ts(kT0 + kDay);
  *good.mutable_step() = Dur(kHourMs);
  good.set_aggregation(v1::AGGREGATION_AVG);
  struct Case {
    std::function<void(v1::QueryMetricRequest&)> mutate;
    std::set<std::string> fields;
  };
  const std::vector<Case> cases = {
      {[](auto& r) { r.set_metric("bad-name"); }, {"metric"}},
      {[](auto& r) { r.set_resource("clusters/c1/pods/p"); }, {"resource"}},
      {[](auto& r) { r.set_label_selector("novalue"); }, {"label_selector"}},
      {[](auto& r) { *r.mutable_step() = Dur(0); }, {"step"}},
      {[](auto& r) { *r.mutable_step() = Dur(1000); }, {"step"}},  // 86,400 points
      {[](auto& r) { *r.mutable_end_time() = Ts(kT0); }, {"end_time"}},
      {[](auto& r) { r.set_aggregation(static_cast<v1::Aggregation>(99)); }, {"aggregation"}},
      {[](auto& r) { r.set_series_reduction(static_cast<v1::SeriesReduction>(42)); },
       {"series_reduction"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    v1::QueryMetricRequest req = good;
    cases[i].mutate(req);
    st = Query(key_a_, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "case " << i;
    EXPECT_EQ(Fields(st), cases[i].fields) << "case " << i;
  }
  EXPECT_TRUE(Query(key_a_, good, &resp).ok());

  v1::SummarizeResourceRequest sreq;
  v1::SummarizeResourceResponse sresp;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + key_a_);
  sreq.set_resource("pods/x");
  *sreq.mutable_timespan() = Dur(90 * kMinuteMs);
  *sreq.mutable_interval() = Dur(kHourMs);
  st = stub_->SummarizeResource(&ctx, sreq, &sresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Fields(st), (std::set<std::string>{"resource", "timespan", "aggregation"}));
}

TEST_F(MetricsServiceTest, TooManySeriesAsksToNarrowUnlessReduced) {
  std::vector<v1::MetricSeries> wide;
  for (int i = 0; i <= kMaxSeries; ++i) {
    wide.push_back(
        MakeSeries({"shop", absl::StrCat("p", i)}, "wide_metric", {{kT0 + i, double(i)}}));
  }
  Write(a_, "wide", wide);
  v1::QueryMetricRequest req;
  req.set_metric("wide_metric");
  req.set_resource("clusters/c1/namespaces/shop");
  *req.mutable_start_time() = Ts(kT0);
  *req.mutable_end_time() = Ts(kT0 + kHourMs);
  *req.mutable_step() = Dur(kHourMs);
  req.set_aggregation(v1::AGGREGATION_COUNT);
  v1::QueryMetricResponse resp;
  grpc::Status st = Query(key_a_, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Fields(st), std::set<std::string>{"resource"});
  req.set_series_reduction(v1::SERIES_REDUCTION_SUM);
  st = Query(key_a_, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.matched_series(), kMaxSeries + 1);
  ASSERT_EQ(resp.series_size(), 1);
  ASSERT_EQ(resp.series(0).points_size(), 1);
  EXPECT_EQ(resp.series(0).points(0).value(), kMaxSeries + 1);  // sum of per-series counts
  EXPECT_EQ(resp.source(), v1::DATA_SOURCE_ROLLUP_1H);
}

// A batch the rollup consumer has not merged yet: a range it touches is answered from raw
// samples (exact), a range it does not touch still from rollups; once merged, from rollups.
TEST_F(MetricsServiceTest, RangesWithPendingRollupsAreAnsweredFromRawSamples) {
  const SeriesDef pod{"shop", "web-0"};
  Write(a_, "merged", {MakeSeries(pod, kCpu, {{kT0 + 1000, 1}, {kT0 + 2000, 3}})});
  Write(a_, "pending", {MakeSeries(pod, kCpu, {{kT0 + kDay + 1000, 10}, {kT0 + kDay + 5000, 20}})},
        /*want_duplicate=*/false, /*apply_rollups=*/false);
  auto query = [&](int64_t start, int64_t end) {
    v1::QueryMetricRequest req;
    req.set_metric(kCpu);
    req.set_resource("clusters/c1/namespaces/shop");
    *req.mutable_start_time() = Ts(start);
    *req.mutable_end_time() = Ts(end);
    *req.mutable_step() = Dur(kHourMs);
    req.set_aggregation(v1::AGGREGATION_SUM);
    req.set_series_reduction(v1::SERIES_REDUCTION_SUM);
    v1::QueryMetricResponse resp;
    grpc::Status st = Query(key_a_, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  };
  auto total = [](const v1::QueryMetricResponse& r) {
    double sum = 0;
    for (const auto& s : r.series()) {
      for (const auto& p : s.points()) sum += p.value();
    }
    return sum;
  };
  auto over_both = query(kT0, kT0 + 2 * kDay);
  EXPECT_EQ(over_both.source(), v1::DATA_SOURCE_RAW);
  EXPECT_DOUBLE_EQ(total(over_both), 34);  // nothing missing
  auto first_day = query(kT0, kT0 + kDay);
  EXPECT_EQ(first_day.source(), v1::DATA_SOURCE_ROLLUP_1H);
  EXPECT_DOUBLE_EQ(total(first_day), 4);

  v1::TelemetryBatch b;
  b.set_batch_id("pending");
  b.set_cluster("c1");
  *b.add_metrics() = MakeSeries(pod, kCpu, {{kT0 + kDay + 1000, 10}, {kT0 + kDay + 5000, 20}});
  ASSERT_TRUE(ingest::ApplyRollupsNow(h_->pool(), {a_, "c1"}, b).ok());
  // Merged twice (a redelivery): counted once.
  ASSERT_TRUE(ingest::ApplyRollupsNow(h_->pool(), {a_, "c1"}, b).ok());
  auto merged = query(kT0, kT0 + 2 * kDay);
  EXPECT_EQ(merged.source(), v1::DATA_SOURCE_ROLLUP_1H);
  EXPECT_DOUBLE_EQ(total(merged), 34);
}

}  // namespace
}  // namespace k8i::inventory::metrics_api
