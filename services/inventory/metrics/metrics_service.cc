#include "services/inventory/metrics/metrics_service.h"

#include "absl/strings/str_cat.h"
#include "libs/auth/grpc_auth.h"
#include "libs/common/status_macros.h"
#include "libs/grpcx/status.h"

namespace k8i::inventory::metrics_api {
namespace {

namespace v1 = ::k8intel::v1;

int64_t ToMs(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1'000'000;
}
int64_t ToMs(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1'000'000;
}
void SetMs(int64_t ms, google::protobuf::Timestamp* t) {
  int64_t secs = ms / 1000, rem = ms % 1000;
  if (rem < 0) {
    rem += 1000;
    --secs;
  }
  t->set_seconds(secs);
  t->set_nanos(static_cast<int32_t>(rem * 1'000'000));
}

std::optional<Aggregation> FromProto(v1::Aggregation a) {
  switch (a) {
    case v1::AGGREGATION_AVG: return Aggregation::kAvg;
    case v1::AGGREGATION_MIN: return Aggregation::kMin;
    case v1::AGGREGATION_MAX: return Aggregation::kMax;
    case v1::AGGREGATION_SUM: return Aggregation::kSum;
    case v1::AGGREGATION_COUNT: return Aggregation::kCount;
    case v1::AGGREGATION_P50: return Aggregation::kP50;
    case v1::AGGREGATION_P90: return Aggregation::kP90;
    case v1::AGGREGATION_P95: return Aggregation::kP95;
    case v1::AGGREGATION_P99: return Aggregation::kP99;
    case v1::AGGREGATION_LAST: return Aggregation::kLast;
    default: return std::nullopt;
  }
}

std::optional<Reduction> FromProto(v1::SeriesReduction r) {
  switch (r) {
    case v1::SERIES_REDUCTION_UNSPECIFIED: return Reduction::kNone;
    case v1::SERIES_REDUCTION_SUM: return Reduction::kSum;
    case v1::SERIES_REDUCTION_AVG: return Reduction::kAvg;
    case v1::SERIES_REDUCTION_MIN: return Reduction::kMin;
    case v1::SERIES_REDUCTION_MAX: return Reduction::kMax;
    default: return std::nullopt;
  }
}

v1::SeriesReduction ToProto(Reduction r) {
  switch (r) {
    case Reduction::kSum: return v1::SERIES_REDUCTION_SUM;
    case Reduction::kAvg: return v1::SERIES_REDUCTION_AVG;
    case Reduction::kMin: return v1::SERIES_REDUCTION_MIN;
    case Reduction::kMax: return v1::SERIES_REDUCTION_MAX;
    case Reduction::kNone: break;
  }
  return v1::SERIES_REDUCTION_UNSPECIFIED;
}

v1::DataSource ToProto(Source s) {
  switch (s) {
    case Source::kRaw: return v1::DATA_SOURCE_RAW;
    case Source::kRollup5m: return v1::DATA_SOURCE_ROLLUP_5M;
    case Source::kRollup1h: return v1::DATA_SOURCE_ROLLUP_1H;
  }
  return v1::DATA_SOURCE_UNSPECIFIED;
}

void ToProto(const std::vector<Point>& points, google::protobuf::RepeatedPtrField<v1::Point>* out) {
  out->Reserve(static_cast<int>(points.size()));
  for (const Point& p : points) {
    v1::Point* o = out->Add();
    SetMs(p.time_ms, o->mutable_time());
    o->set_value(p.value);
    o->set_sample_count(p.sample_count);
  }
}

const char* kAggregations =
    "must be one of AGGREGATION_AVG, _MIN, _MAX, _SUM, _COUNT, _P50, _P90, _P95, _P99, _LAST";

// TooManySeries: the selection is too broad for one answer; the caller narrows it.
absl::Status TooManySeries(const char* field, int cap) {
  return grpcx::WithErrorInfo(
      grpcx::InvalidArgumentWithViolations(
          "the selection matches too many series",
          {{field, absl::StrCat("matches more than ", cap,
                                " series: narrow it (a more specific resource or more label "
                                "matches) or use series_reduction")}}),
      "TOO_MANY_SERIES", {{"max_series", absl::StrCat(cap)}});
}

// SourceFor is ChooseSource, except that a range some stored batch has not been merged into
// the rollups for yet is answered from raw samples: never a silently incomplete rollup.
absl::StatusOr<Source> SourceFor(PgMetricsStore& store, const std::string& tenant,
                                 const TimeRange& range, Aggregation agg) {
  const Source source = ChooseSource(range, agg);
  if (source == Source::kRaw) return source;
  ASSIGN_OR_RETURN(const bool pending, store.RollupsPending(tenant, range));
  return pending ? Source::kRaw : source;
}

absl::Status Query(PgMetricsStore& store, const std::string& tenant,
                   const v1::QueryMetricRequest& req, v1::QueryMetricResponse& resp) {
  std::vector<FieldViolation> v;
  if (!IsValidMetricName(req.metric())) {
    v.push_back({"metric", "required: 1..200 characters of [a-zA-Z_:][a-zA-Z0-9_:]*"});
  }
  Selection sel;
  if (req.resource().empty() && req.label_selector().empty()) {
    v.push_back({"resource", "set resource, label_selector or both"});
  } else if (!req.resource().empty()) {
    if (auto s = ParseResource(req.resource(), "resource", v)) sel = *std::move(s);
  }
  MergeLabels(sel, ParseLabelSelector(req.label_selector(), "label_selector", v),
              "label_selector", v);
  if (!req.has_start_time()) v.push_back({"start_time", "required"});
  if (!req.has_end_time()) v.push_back({"end_time", "required"});
  if (!req.has_step()) v.push_back({"step", "required"});
  const TimeRange range{ToMs(req.start_time()), ToMs(req.end_time()), ToMs(req.step())};
  if (req.has_start_time() && req.has_end_time() && req.has_step()) {
    ValidateRange(range, "start_time", "end_time", "step", v);
  }
  const auto agg = FromProto(req.aggregation());
  if (!agg) v.push_back({"aggregation", kAggregations});
  const auto reduction = FromProto(req.series_reduction());
  if (!reduction) v.push_back({"series_reduction", "must be a SeriesReduction value"});
  if (!v.empty()) return grpcx::InvalidArgumentWithViolations("invalid metric query", v);

  const int cap = *reduction == Reduction::kNone ? kMaxSeries : kMaxReducedSeries;
  ASSIGN_OR_RETURN(std::vector<SeriesRef> series,
                   store.FindSeries(tenant, req.metric(), sel, cap + 1));
  if (static_cast<int>(series.size()) > cap) {
    return TooManySeries(req.resource().empty() ? "label_selector" : "resource", cap);
  }
  ASSIGN_OR_RETURN(const Source source, SourceFor(store, tenant, range, *agg));
  AggregateSpec spec{.range = range,
                     .aggregation = *agg,
                     .source = source,
                     .reduction = *reduction};
  for (const auto& s : series) spec.series_ids.push_back(s.id);
  resp.set_source(ToProto(spec.source));
  resp.set_matched_series(static_cast<int32_t>(series.size()));
  if (*reduction != Reduction::kNone) {
    ASSIGN_OR_RETURN(std::vector<Point> points, store.AggregateReduced(tenant, spec));
    if (points.empty()) return absl::OkStatus();
    v1::TimeSeries* out = resp.add_series();
    out->set_metric(req.metric());
    if (!sel.cluster.empty()) out->set_cluster(absl::StrCat("clusters/", sel.cluster));
    ToProto(points, out->mutable_points());
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(auto by_series, store.Aggregate(tenant, spec));
  for (const auto& s : series) {
    auto it = by_series.find(s.id);
    if (it == by_series.end()) continue;
    v1::TimeSeries* out = resp.add_series();
    out->set_metric(req.metric());
    out->set_cluster(absl::StrCat("clusters/", s.cluster));
    for (const auto& [name, value] : s.labels) {
      v1::Label* l = out->add_labels();
      l->set_name(name);
      l->set_value(value);
    }
    ToProto(it->second, out->mutable_points());
  }
  return absl::OkStatus();
}

absl::Status Summarize(PgMetricsStore& store, const Clock& clock, const std::string& tenant,
                       const v1::SummarizeResourceRequest& req,
                       v1::SummarizeResourceResponse& resp) {
  std::vector<FieldViolation> v;
  std::optional<Selection> sel;
  if (req.resource().empty()) {
    v.push_back({"resource", "required"});
  } else {
    sel = ParseResource(req.resource(), "resource", v);
  }
  const int64_t interval = ToMs(req.interval()), timespan = ToMs(req.timespan());
  if (interval <= 0) v.push_back({"interval", "required: a positive duration (≥ 1 ms)"});
  if (timespan <= 0) {
    v.push_back({"timespan", "required: a positive duration (≥ 1 ms)"});
  } else if (interval > 0 && timespan % interval != 0) {
    v.push_back({"timespan", "must be a multiple of interval"});
  } else if (interval > 0 && timespan / interval > kMaxPoints) {
    v.push_back({"interval", absl::StrCat("gives ", timespan / interval,
                                          " points; at most ", kMaxPoints)});
  }
  const auto agg = FromProto(req.aggregation());
  if (!agg) v.push_back({"aggregation", kAggregations});
  if (!v.empty()) return grpcx::InvalidArgumentWithViolations("invalid summary request", v);

  const int64_t end = req.has_end_time()
                          ? ToMs(req.end_time())
                          : SummaryDefaultEnd(absl::ToUnixMillis(clock.Now()), interval);
  const TimeRange range{end - timespan, end, interval};
  ASSIGN_OR_RETURN(const Source source, SourceFor(store, tenant, range, *agg));
  resp.set_resource(req.resource());
  SetMs(range.start_ms, resp.mutable_start_time());
  SetMs(range.end_ms, resp.mutable_end_time());
  resp.set_source(ToProto(source));
  for (const SummaryMetric& m : SummaryMetrics(sel->kind)) {
    ASSIGN_OR_RETURN(std::vector<SeriesRef> series,
                     store.FindSeries(tenant, m.name, *sel, kMaxReducedSeries + 1));
    if (static_cast<int>(series.size()) > kMaxReducedSeries) {
      return TooManySeries("resource", kMaxReducedSeries);
    }
    AggregateSpec spec{
        .range = range, .aggregation = *agg, .source = source, .reduction = m.reduction};
    for (const auto& s : series) spec.series_ids.push_back(s.id);
    ASSIGN_OR_RETURN(std::vector<Point> points, store.AggregateReduced(tenant, spec));
    v1::MetricSummary* out = resp.add_metrics();
    out->set_metric(m.name);
    out->set_reduction(ToProto(m.reduction));
    out->set_series_count(static_cast<int32_t>(series.size()));
    ToProto(points, out->mutable_points());
    const PointStats stats = Stats(points);
    out->set_min(stats.min);
    out->set_avg(stats.avg);
    out->set_max(stats.max);
    out->set_last(stats.last);
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status MetricsServiceImpl::QueryMetric(grpc::ServerContext* ctx,
                                             const v1::QueryMetricRequest* req,
                                             v1::QueryMetricResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  return grpcx::ToGrpcStatus(Query(*store_, principal.tenant, *req, *resp));
}

grpc::Status MetricsServiceImpl::SummarizeResource(grpc::ServerContext* ctx,
                                                   const v1::SummarizeResourceRequest* req,
                                                   v1::SummarizeResourceResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  return grpcx::ToGrpcStatus(Summarize(*store_, *clock_, principal.tenant, *req, *resp));
}

}  // namespace k8i::inventory::metrics_api
