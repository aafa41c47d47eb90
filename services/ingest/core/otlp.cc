#include "services/ingest/core/otlp.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "services/ingest/core/validate.h"

namespace k8i::ingest {
namespace {

namespace cpb = opentelemetry::proto::common::v1;
namespace mpb = opentelemetry::proto::metrics::v1;
using k8intel::v1::MetricType;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Shortest round-trip decimal, Prometheus spellings for the infinities (le="+Inf").
std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

void AppendJson(const cpb::AnyValue& v, std::string& out) {
  switch (v.value_case()) {
    case cpb::AnyValue::kStringValue:
      out += '"';
      JsonEscape(v.string_value(), out);
      out += '"';
      return;
    case cpb::AnyValue::kBoolValue:
      out += v.bool_value() ? "true" : "false";
      return;
    case cpb::AnyValue::kIntValue:
      absl::StrAppend(&out, v.int_value());
      return;
    case cpb::AnyValue::kDoubleValue:
      if (std::isfinite(v.double_value())) {
        out += FormatDouble(v.double_value());
      } else {
        absl::StrAppend(&out, "\"", FormatDouble(v.double_value()), "\"");
      }
      return;
    case cpb::AnyValue::kBytesValue:
      absl::StrAppend(&out, "\"", absl::Base64Escape(v.bytes_value()), "\"");
      return;
    case cpb::AnyValue::kArrayValue: {
      out += '[';
      for (int i = 0; i < v.array_value().values_size(); ++i) {
        if (i > 0) out += ',';
        AppendJson(v.array_value().values(i), out);
      }
      out += ']';
      return;
    }
    case cpb::AnyValue::kKvlistValue: {
      out += '{';
      for (int i = 0; i < v.kvlist_value().values_size(); ++i) {
        const auto& kv = v.kvlist_value().values(i);
        if (i > 0) out += ',';
        out += '"';
        JsonEscape(kv.key(), out);
        out += "\":";
        AppendJson(kv.value(), out);
      }
      out += '}';
      return;
    }
    case cpb::AnyValue::VALUE_NOT_SET:
      out += "null";
      return;
  }
}

// Who a point is about: the OpenTelemetry Kubernetes resource attributes, from the resource
// and then the point's own attributes.
struct Identity {
  k8intel::v1::ResourceRef ref;
  int workload_rank = INT_MAX;  // lower wins: the top-level controller names the workload
  bool has_cluster = false;
  std::string cluster;  // k8s.cluster.name
};

struct WorkloadKey {
  const char* key;
  const char* kind;
};
// A pod's ReplicaSet belongs to a Deployment and its Job to a CronJob: the higher wins.
constexpr std::array<WorkloadKey, 6> kWorkloadKeys = {{{"k8s.deployment.name", "Deployment"},
                                                       {"k8s.statefulset.name", "StatefulSet"},
                                                       {"k8s.daemonset.name", "DaemonSet"},
                                                       {"k8s.cronjob.name", "CronJob"},
                                                       {"k8s.job.name", "Job"},
                                                       {"k8s.replicaset.name", "ReplicaSet"}}};

// ApplyIdentityKey records `key` when it is an identity attribute (also the names ingest adds
// to series identity itself: k8s.workload.kind/name, device) and says whether it was one.
bool ApplyIdentityKey(absl::string_view key, const std::string& value, Identity& id) {
  auto& r = id.ref;
  if (key == "k8s.cluster.name") {
    id.has_cluster = true;
    id.cluster = value;
    return true;
  }
  using Setter = void (k8intel::v1::ResourceRef::*)(const std::string&);
  static const std::array<std::pair<absl::string_view, Setter>, 8> kFields = {{
      {"k8s.node.name", &k8intel::v1::ResourceRef::set_node_name},
      {"k8s.namespace.name", &k8intel::v1::ResourceRef::set_namespace_name},
      {"k8s.pod.name", &k8intel::v1::ResourceRef::set_pod_name},
      {"k8s.pod.uid", &k8intel::v1::ResourceRef::set_pod_uid},
      {"k8s.container.name", &k8intel::v1::ResourceRef::set_container_name},
      {"k8s.persistentvolumeclaim.name", &k8intel::v1::ResourceRef::set_pvc_name},
      {"device", &k8intel::v1::ResourceRef::set_device},
      {"k8s.workload.name", &k8intel::v1::ResourceRef::set_workload_name},
  }};
  for (const auto& [name, set] : kFields) {
    if (key == name) {
      if (!value.empty()) (r.*set)(value);
      if (key == "k8s.workload.name") id.workload_rank = -1;
      return true;
    }
  }
  if (key == "k8s.workload.kind") {
    if (!value.empty()) r.set_workload_kind(value);
    id.workload_rank = -1;
    return true;
  }
  for (int rank = 0; rank < static_cast<int>(kWorkloadKeys.size()); ++rank) {
    if (key != kWorkloadKeys[rank].key) continue;
    if (!value.empty() && rank < id.workload_rank) {
      r.set_workload_kind(kWorkloadKeys[rank].kind);
      r.set_workload_name(value);
      id.workload_rank = rank;
    }
    return true;
  }
  return false;
}

// Resource attributes kept as labels (OpenTelemetry's service identity); others are dropped.
constexpr std::array<absl::string_view, 3> kResourceLabels = {"service.name", "service.namespace",
                                                              "service.instance.id"};

using Labels = std::vector<std::pair<std::string, std::string>>;  // sorted by name, unique

// One series sample a data point becomes.
struct Emit {
  std::string name;
  MetricType type;
  bool with_unit;
  const char* extra_label;  // "le" or "quantile", or null
  std::string extra_value;
  double value;
};

// Where a point sits in the request, for violation paths.
struct Where {
  int resource, scope, metric, point;
  const char* kind;
  std::string Path() const {
    return absl::StrCat("resource_metrics[", resource, "].scope_metrics[", scope, "].metrics[",
                        metric, "].", kind, ".data_points[", point, "]");
  }
};

// Points this close to the retention bound are rejected here: the Ingestor validates the batch
// a moment later, against a later `now`, and must not find a point that has just expired.
constexpr absl::Duration kRetentionMargin = absl::Minutes(1);

bool IsCumulative(mpb::AggregationTemporality t) {
  return t == mpb::AGGREGATION_TEMPORALITY_CUMULATIVE;
}

// TemporalityReject: why every point of a metric with temporality `t` is rejected, if it is.
// Histograms must be cumulative (a delta bucket count is no Prometheus counter); sums may be
// delta (stored as gauges, see Mapper::Metric).
std::optional<OtlpReject> TemporalityReject(mpb::AggregationTemporality t, bool delta_ok) {
  if (t == mpb::AGGREGATION_TEMPORALITY_UNSPECIFIED) return OtlpReject::kUnspecifiedTemporality;
  if (!IsCumulative(t) && !delta_ok) return OtlpReject::kDeltaHistogram;
  return std::nullopt;
}

std::optional<OtlpReject> NumberEmits(const mpb::NumberDataPoint& p, const std::string& name,
                                      MetricType type, std::vector<Emit>& e) {
  if (p.value_case() == mpb::NumberDataPoint::VALUE_NOT_SET) return OtlpReject::kNoValue;
  const double v = p.value_case() == mpb::NumberDataPoint::kAsInt ? static_cast<double>(p.as_int())
                                                                  : p.as_double();
  e.push_back({name, type, true, nullptr, "", v});
  return std::nullopt;
}

// HistogramEmits: Prometheus-style `_count`, `_sum` (when given) and cumulative `_bucket`
// series with an `le` label per bound plus "+Inf" (the total count).
std::optional<OtlpReject> HistogramEmits(const mpb::HistogramDataPoint& p, const std::string& base,
                                         std::vector<Emit>& e) {
  const auto& bounds = p.explicit_bounds();
  const auto& counts = p.bucket_counts();
  if (!counts.empty() || !bounds.empty()) {
    if (counts.size() != bounds.size() + 1) return OtlpReject::kBadBuckets;
    for (int i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
        return OtlpReject::kBadBuckets;
      }
    }
  }
  const auto counter = k8intel::v1::METRIC_TYPE_COUNTER;
  e.push_back({base + "_count", counter, false, nullptr, "", static_cast<double>(p.count())});
  if (p.has_sum()) e.push_back({base + "_sum", counter, true, nullptr, "", p.sum()});
  if (counts.empty()) return std::nullopt;
  uint64_t cumulative = 0;
  for (int i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    e.push_back({base + "_bucket", counter, false, "le", FormatDouble(bounds[i]),
                 static_cast<double>(cumulative)});
  }
  e.push_back({base + "_bucket", counter, false, "le", "+Inf", static_cast<double>(p.count())});
  return std::nullopt;
}

class Mapper {
 public:
  Mapper(const OtlpOptions& options, OtlpMapping& out) : o_(options), out_(out) {}

  void Resource(const mpb::ResourceMetrics& rm, int r) {
    Identity id;
    Labels resource_labels;
    for (const auto& kv : rm.resource().attributes()) {
      const std::string value = OtlpValueText(kv.value());
      if (ApplyIdentityKey(kv.key(), value, id)) continue;
      for (absl::string_view keep : kResourceLabels) {
        if (kv.key() == keep) resource_labels.emplace_back(kv.key(), value);
      }
    }
    std::sort(resource_labels.begin(), resource_labels.end());
    for (int s = 0; s < rm.scope_metrics_size(); ++s) {
      const auto& sm = rm.scope_metrics(s);
      for (int m = 0; m < sm.metrics_size(); ++m) {
        Metric(sm.metrics(m), {r, s, m, 0, ""}, id, resource_labels);
      }
    }
  }

  void Finish();

 private:
  void Metric(const mpb::Metric& metric, Where w, const Identity& resource,
              const Labels& resource_labels);
  template <typename Point, typename Build>
  void Points(const google::protobuf::RepeatedPtrField<Point>& points, Where w,
              const mpb::Metric& metric, const Identity& resource, const Labels& resource_labels,
              std::optional<OtlpReject> metric_reject, Build build);
  void Reject(const Where& w, OtlpReject reason);
  void Commit(const Where& w, const Identity& id, const Labels& labels, int64_t ms,
              const std::string& unit, const std::vector<Emit>& emits);

  const OtlpOptions& o_;
  OtlpMapping& out_;
  absl::flat_hash_map<std::string, int> series_;  // series key → index in batch.metrics
  int64_t samples_ = 0;
  std::array<std::string, kOtlpRejectReasons> first_path_;
};

void Mapper::Reject(const Where& w, OtlpReject reason) {
  const int i = static_cast<int>(reason);
  ++out_.rejected_points;
  ++out_.rejected_by_reason[i];
  if (first_path_[i].empty()) first_path_[i] = w.Path();
  if (static_cast<int>(out_.violations.size()) < o_.limits.max_reported_violations) {
    out_.violations.push_back({w.Path(), OtlpRejectText(reason, o_)});
  }
}

void Mapper::Metric(const mpb::Metric& metric, Where w, const Identity& resource,
                    const Labels& resource_labels) {
  const std::string base = OtlpMetricName(metric.name());
  const auto gauge = k8intel::v1::METRIC_TYPE_GAUGE;
  const auto counter = k8intel::v1::METRIC_TYPE_COUNTER;
  switch (metric.data_case()) {
    case mpb::Metric::kGauge:
      w.kind = "gauge";
      return Points(metric.gauge().data_points(), w, metric, resource, resource_labels,
                    std::nullopt, [&](const mpb::NumberDataPoint& p, std::vector<Emit>& e) {
                      return NumberEmits(p, base, gauge, e);
                    });
    case mpb::Metric::kSum: {
      w.kind = "sum";
      const auto t = metric.sum().aggregation_temporality();
      // Only a monotonic cumulative sum is a Prometheus counter. A delta is the change over
      // its own interval: stored as a gauge of per-interval values, because turning deltas
      // into a running total needs state across requests and ingest keeps none per batch.
      // A non-monotonic sum (an up-down counter) is a level: a gauge.
      const auto type = IsCumulative(t) && metric.sum().is_monotonic() ? counter : gauge;
      return Points(metric.sum().data_points(), w, metric, resource, resource_labels,
                    TemporalityReject(t, /*delta_ok=*/true),
                    [&](const mpb::NumberDataPoint& p, std::vector<Emit>& e) {
                      return NumberEmits(p, base, type, e);
                    });
    }
    case mpb::Metric::kHistogram:
      w.kind = "histogram";
      return Points(metric.histogram().data_points(), w, metric, resource, resource_labels,
                    TemporalityReject(metric.histogram().aggregation_temporality(), false),
                    [&](const mpb::HistogramDataPoint& p, std::vector<Emit>& e) {
                      return HistogramEmits(p, base, e);
                    });
    case mpb::Metric::kExponentialHistogram:
      w.kind = "exponential_histogram";
      // Count and sum only: exponential buckets have no fixed `le` bounds (they move with the
      // scale), and no k8intel consumer reads distributions yet.
      return Points(
          metric.exponential_histogram().data_points(), w, metric, resource, resource_labels,
          TemporalityReject(metric.exponential_histogram().aggregation_temporality(), false),
          [&](const mpb::ExponentialHistogramDataPoint& p, std::vector<Emit>& e) {
            e.push_back(
                {base + "_count", counter, false, nullptr, "", static_cast<double>(p.count())});
            if (p.has_sum()) e.push_back({base + "_sum", counter, true, nullptr, "", p.sum()});
            return std::optional<OtlpReject>();
          });
    case mpb::Metric::kSummary:
      w.kind = "summary";
      // Summary count and sum are cumulative by definition (OTLP gives no temporality).
      return Points(
          metric.summary().data_points(), w, metric, resource, resource_labels, std::nullopt,
          [&](const mpb::SummaryDataPoint& p, std::vector<Emit>& e) {
            e.push_back(
                {base + "_count", counter, false, nullptr, "", static_cast<double>(p.count())});
            e.push_back({base + "_sum", counter, true, nullptr, "", p.sum()});
            for (const auto& q : p.quantile_values()) {
              e.push_back({base, gauge, true, "quantile", FormatDouble(q.quantile()), q.value()});
            }
            return std::optional<OtlpReject>();
          });
    case mpb::Metric::DATA_NOT_SET:
      return;
  }
}

template <typename Point, typename Build>
void Mapper::Points(const google::protobuf::RepeatedPtrField<Point>& points, Where w,
                    const mpb::Metric& metric, const Identity& resource,
                    const Labels& resource_labels, std::optional<OtlpReject> metric_reject,
                    Build build) {
  std::vector<Emit> emits;
  for (int i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    w.point = i;
    ++out_.points;
    // Identity: the resource's, refined by the point's own k8s.* attributes; the rest of the
    // attributes become labels (names sanitized; keys that collide join their values by ";").
    Identity id = resource;
    std::vector<std::pair<std::string, std::pair<std::string, std::string>>> attrs;
    for (const auto& kv : p.attributes()) {
      if (kv.key().empty()) continue;
      std::string value = OtlpValueText(kv.value());
      if (ApplyIdentityKey(kv.key(), value, id)) continue;
      attrs.push_back({OtlpLabelName(kv.key()), {kv.key(), std::move(value)}});
    }
    std::sort(attrs.begin(), attrs.end());
    Labels labels;
    for (auto& [name, kv] : attrs) {
      if (!labels.empty() && labels.back().first == name) {
        absl::StrAppend(&labels.back().second, ";", kv.second);
      } else {
        labels.emplace_back(name, std::move(kv.second));
      }
    }
    for (const auto& rl : resource_labels) {
      auto at = std::lower_bound(labels.begin(), labels.end(), rl,
                                 [](const auto& a, const auto& b) { return a.first < b.first; });
      if (at == labels.end() || at->first != rl.first) labels.insert(at, rl);
    }

    if (id.has_cluster && id.cluster != o_.cluster) {
      Reject(w, OtlpReject::kClusterMismatch);
      continue;
    }
    if ((p.flags() & mpb::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) != 0) {
      ++out_.skipped_points;
      continue;
    }
    if (p.time_unix_nano() == 0) {
      Reject(w, OtlpReject::kNoTimestamp);
      continue;
    }
    const int64_t ms = static_cast<int64_t>(p.time_unix_nano() / 1'000'000);
    if (ms > absl::ToUnixMillis(o_.now + o_.limits.future_tolerance)) {
      Reject(w, OtlpReject::kTooNew);
      continue;
    }
    if (ms < absl::ToUnixMillis(o_.now - o_.limits.retention + kRetentionMargin)) {
      Reject(w, OtlpReject::kTooOld);
      continue;
    }
    if (metric.name().empty()) {
      Reject(w, OtlpReject::kBadName);
      continue;
    }
    if (metric_reject) {
      Reject(w, *metric_reject);
      continue;
    }
    emits.clear();
    if (auto reason = build(p, emits)) {
      Reject(w, *reason);
      continue;
    }
    Commit(w, id, labels, ms, metric.unit(), emits);
  }
}

void Mapper::Commit(const Where& w, const Identity& id, const Labels& labels, int64_t ms,
                    const std::string& unit, const std::vector<Emit>& emits) {
  const Limits& l = o_.limits;
  for (const auto& e : emits) {
    if (!std::isfinite(e.value)) return Reject(w, OtlpReject::kNotFinite);
    if (static_cast<int>(e.name.size()) > l.max_metric_name_length || !IsValidMetricName(e.name)) {
      return Reject(w, OtlpReject::kBadName);
    }
  }
  const bool extra = std::any_of(emits.begin(), emits.end(),
                                 [](const Emit& e) { return e.extra_label != nullptr; });
  if (static_cast<int>(labels.size()) + (extra ? 1 : 0) > l.max_labels_per_series) {
    return Reject(w, OtlpReject::kBadLabels);
  }
  for (const auto& [name, value] : labels) {
    if (static_cast<int>(name.size()) > l.max_label_name_length ||
        static_cast<int>(value.size()) > l.max_label_value_length) {
      return Reject(w, OtlpReject::kBadLabels);
    }
  }
  // Each emitted sample's series: its name, labels (with le/quantile in sorted place, replacing
  // an attribute of that name), type, unit and resource.
  std::vector<std::pair<std::string, Labels>> keyed;
  int new_series = 0;
  for (const auto& e : emits) {
    Labels ls = labels;
    if (e.extra_label != nullptr) {
      auto at = std::lower_bound(ls.begin(), ls.end(), e.extra_label,
                                 [](const auto& a, const char* name) { return a.first < name; });
      if (at != ls.end() && at->first == e.extra_label) {
        at->second = e.extra_value;
      } else {
        ls.insert(at, {e.extra_label, e.extra_value});
      }
    }
    std::string key =
        absl::StrCat(e.name, "\x1e", static_cast<int>(e.type), "\x1e", e.with_unit ? unit : "");
    for (const auto& [k, v] : ls) absl::StrAppend(&key, "\x1e", k, "\x1f", v);
    const auto& r = id.ref;
    absl::StrAppend(&key, "\x1d", r.node_name(), "\x1f", r.namespace_name(), "\x1f", r.pod_name(),
                    "\x1f", r.pod_uid(), "\x1f", r.container_name(), "\x1f", r.workload_kind(),
                    "\x1f", r.workload_name(), "\x1f", r.pvc_name(), "\x1f", r.device());
    if (auto it = series_.find(key); it == series_.end()) {
      ++new_series;
    } else if (out_.batch.metrics(it->second).samples_size() >= l.max_samples_per_batch) {
      // A series must fit one batch (SplitSeries never cuts one).
      return Reject(w, OtlpReject::kBatchFull);
    }
    keyed.emplace_back(std::move(key), std::move(ls));
  }
  // One request may become several batches (SplitSeries), up to kOtlpBatchesPerRequest.
  if (out_.batch.metrics_size() + new_series >
          int64_t{l.max_series_per_batch} * kOtlpBatchesPerRequest ||
      samples_ + static_cast<int64_t>(emits.size()) >
          l.max_samples_per_batch * kOtlpBatchesPerRequest) {
    return Reject(w, OtlpReject::kBatchFull);
  }
  for (size_t i = 0; i < emits.size(); ++i) {
    const Emit& e = emits[i];
    auto [it, inserted] = series_.try_emplace(keyed[i].first, out_.batch.metrics_size());
    k8intel::v1::MetricSeries* s;
    if (inserted) {
      s = out_.batch.add_metrics();
      s->set_name(e.name);
      s->set_type(e.type);
      if (e.with_unit) s->set_unit(unit);
      *s->mutable_resource() = id.ref;
      for (const auto& [k, v] : keyed[i].second) {
        auto* label = s->add_labels();
        label->set_name(k);
        label->set_value(v);
      }
    } else {
      s = out_.batch.mutable_metrics(it->second);
    }
    auto* sample = s->add_samples();
    sample->set_time_unix_ms(ms);
    sample->set_value(e.value);
  }
  samples_ += static_cast<int64_t>(emits.size());
  ++out_.accepted_points;
}

void Mapper::Finish() {
  if (out_.rejected_points == 0) return;
  std::string msg =
      absl::StrCat(out_.rejected_points, " of ", out_.points, " data point(s) rejected:");
  bool first = true;
  for (int i = 0; i < kOtlpRejectReasons; ++i) {
    if (out_.rejected_by_reason[i] == 0) continue;
    absl::StrAppend(&msg, first ? " " : "; ", out_.rejected_by_reason[i], " ",
                    OtlpRejectText(static_cast<OtlpReject>(i), o_), " (first at ", first_path_[i],
                    ")");
    first = false;
  }
  out_.error_message = std::move(msg);
}

}  // namespace

std::string OtlpMetricName(absl::string_view otel_name) {
  std::string out;
  out.reserve(otel_name.size() + 1);
  if (!otel_name.empty() && IsDigit(otel_name[0])) out += '_';
  for (char c : otel_name) out += (IsAlpha(c) || IsDigit(c) || c == '_' || c == ':') ? c : '_';
  return out;
}

std::string OtlpLabelName(absl::string_view key) {
  std::string out;
  out.reserve(key.size() + 1);
  if (!key.empty() && (IsDigit(key[0]) || key[0] == '.')) out += '_';
  for (char c : key) out += (IsAlpha(c) || IsDigit(c) || c == '_' || c == '.') ? c : '_';
  return out;
}

std::string OtlpValueText(const cpb::AnyValue& value) {
  switch (value.value_case()) {
    case cpb::AnyValue::kStringValue:
      return value.string_value();
    case cpb::AnyValue::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case cpb::AnyValue::kIntValue:
      return absl::StrCat(value.int_value());
    case cpb::AnyValue::kDoubleValue:
      return FormatDouble(value.double_value());
    case cpb::AnyValue::kBytesValue:
      return absl::Base64Escape(value.bytes_value());
    case cpb::AnyValue::kArrayValue:
    case cpb::AnyValue::kKvlistValue: {
      std::string out;
      AppendJson(value, out);
      return out;
    }
    case cpb::AnyValue::VALUE_NOT_SET:
      return "";
  }
  return "";
}

std::string OtlpRejectText(OtlpReject reason, const OtlpOptions& o) {
  switch (reason) {
    case OtlpReject::kClusterMismatch:
      return absl::StrCat(
          "with resource attribute k8s.cluster.name other than the token's "
          "cluster \"",
          o.cluster, "\" (set it to that id or remove it)");
    case OtlpReject::kNoTimestamp:
      return "without time_unix_nano";
    case OtlpReject::kTooOld:
      return absl::StrCat("older than the retention period of ",
                          absl::FormatDuration(o.limits.retention));
    case OtlpReject::kTooNew:
      return absl::StrCat("more than ", absl::FormatDuration(o.limits.future_tolerance),
                          " in the future (check the sender's clock)");
    case OtlpReject::kNoValue:
      return "without a value (as_double or as_int)";
    case OtlpReject::kNotFinite:
      return "with a NaN or infinite value";
    case OtlpReject::kUnspecifiedTemporality:
      return "with aggregation_temporality UNSPECIFIED";
    case OtlpReject::kDeltaHistogram:
      return "in delta histograms (only cumulative histograms are stored; use the collector's "
             "deltatocumulative processor)";
    case OtlpReject::kBadBuckets:
      return "with bucket_counts not one longer than explicit_bounds, or bounds not finite and "
             "strictly increasing";
    case OtlpReject::kBadName:
      return absl::StrCat("whose metric name is empty or longer than ",
                          o.limits.max_metric_name_length, " characters");
    case OtlpReject::kBadLabels:
      return absl::StrCat("with more than ", o.limits.max_labels_per_series,
                          " attributes, or a name longer than ", o.limits.max_label_name_length,
                          " or a value longer than ", o.limits.max_label_value_length);
    case OtlpReject::kBatchFull:
      return absl::StrCat("beyond ingest's limits of ",
                          int64_t{o.limits.max_series_per_batch} * kOtlpBatchesPerRequest,
                          " series and ", o.limits.max_samples_per_batch * kOtlpBatchesPerRequest,
                          " samples per request (lower the exporter's batch size)");
  }
  return "rejected";
}

std::string OtlpBatchId(const OtlpExportRequest& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream sos(&bytes);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&cos);
  }
  return absl::StrCat("otlp-", Sha256Hex(bytes).substr(0, 40));
}

OtlpMapping MapOtlpMetrics(const OtlpExportRequest& request, const OtlpOptions& options) {
  OtlpMapping out;
  out.batch.set_batch_id(OtlpBatchId(request));
  out.batch.set_cluster(options.cluster);
  Mapper mapper(options, out);
  for (int r = 0; r < request.resource_metrics_size(); ++r) {
    mapper.Resource(request.resource_metrics(r), r);
  }
  mapper.Finish();
  return out;
}

}  // namespace k8i::ingest
