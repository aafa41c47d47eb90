#include "services/correlation/core/anomaly.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/common/ids.h"
#include "services/correlation/core/proto_time.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

// \x1f cannot appear in metric or label names; values are length-prefixed so no two distinct
// series share a key.
void AddPart(std::string& key, absl::string_view k, absl::string_view v) {
  if (v.empty()) return;
  absl::StrAppend(&key, "\x1f", k, "=", v.size(), ":", v);
}

std::string Describe(const v1::ResourceRef& r) {
  std::string out;
  if (!r.pod_name().empty()) {
    out = absl::StrCat("Pod ", r.namespace_name(), "/", r.pod_name());
    if (!r.container_name().empty()) absl::StrAppend(&out, " (container ", r.container_name(), ")");
  } else if (!r.pvc_name().empty()) {
    out = absl::StrCat("PersistentVolumeClaim ", r.namespace_name(), "/", r.pvc_name());
  } else if (!r.workload_name().empty()) {
    out = absl::StrCat(r.workload_kind(), " ", r.namespace_name(), "/", r.workload_name());
  } else if (!r.node_name().empty()) {
    out = absl::StrCat("Node ", r.node_name());
  } else {
    out = "the cluster";
  }
  if (!r.device().empty()) absl::StrAppend(&out, " device ", r.device());
  return out;
}

void Annotate(v1::Alert& a, const char* k, const std::string& v) { (*a.mutable_annotations())[k] = v; }

}  // namespace

SeriesIdentity IdentityOf(const v1::MetricSeries& s) {
  const auto& r = s.resource();
  std::string labels;
  for (const auto& l : s.labels()) AddPart(labels, l.name(), l.value());
  SeriesIdentity id;
  id.series = s.name();
  AddPart(id.series, "node", r.node_name());
  AddPart(id.series, "ns", r.namespace_name());
  AddPart(id.series, "pod", r.pod_name());
  AddPart(id.series, "container", r.container_name());
  AddPart(id.series, "pvc", r.pvc_name());
  AddPart(id.series, "device", r.device());
  id.series += labels;
  if (!r.pod_name().empty() && !r.workload_name().empty()) {
    // A workload's replicas share one baseline per container.
    id.baseline = s.name();
    AddPart(id.baseline, "ns", r.namespace_name());
    AddPart(id.baseline, "wk", r.workload_kind());
    AddPart(id.baseline, "wn", r.workload_name());
    AddPart(id.baseline, "container", r.container_name());
    id.baseline += labels;
  } else {
    id.baseline = id.series;
  }
  return id;
}

void AnomalyDetector::Observe(const v1::MetricSeries& series, const SeriesIdentity& id,
                              SeriesState& st, Buckets& buckets,
                              std::vector<v1::Alert>& out) const {
  std::vector<const v1::Sample*> samples;
  samples.reserve(series.samples_size());
  for (const auto& s : series.samples()) {
    if (s.time_unix_ms() > st.last_ms && std::isfinite(s.value())) samples.push_back(&s);
  }
  std::stable_sort(samples.begin(), samples.end(), [](const auto* a, const auto* b) {
    return a->time_unix_ms() < b->time_unix_ms();
  });
  auto fold_pending = [&] {
    for (const auto& [how, v] : st.pending) {
      const BucketKey k{id.baseline, how};
      buckets.moments[k].Add(v);
      buckets.dirty.insert(k);
    }
    st.pending.clear();
  };
  for (const v1::Sample* s : samples) {
    if (s->time_unix_ms() <= st.last_ms) continue;  // duplicates within the message
    st.last_ms = s->time_unix_ms();
    const double v = s->value();
    const absl::Time at = absl::FromUnixMillis(s->time_unix_ms());
    const int how = HourOfWeek(at);
    const BucketKey key{id.baseline, how};
    Welford& b = buckets.moments[key];
    buckets.dirty.insert(key);
    int side = 0;
    double sigma = 0, dev = 0;
    if (b.count >= options_.warmup) {
      sigma = std::max(b.StdDev(), options_.min_relative * std::fabs(b.mean));
      dev = v - b.mean;
      if (sigma > 0 && std::fabs(dev) > options_.sigmas * sigma) side = dev > 0 ? 1 : -1;
    }
    if (st.direction != 0) {
      b.Add(v);
      st.calm = side == st.direction ? 0 : st.calm + 1;
      if (st.calm < options_.recover) continue;
      v1::Alert a = st.alert;
      a.set_status(v1::ALERT_STATUS_RESOLVED);
      SetProtoTime(at, a.mutable_end_time());
      a.set_summary(absl::StrFormat(
          "%s of %s is back within %g sigma of its baseline for %s: %.6g (mean %.6g over %d "
          "samples)",
          series.name(), Describe(series.resource()), options_.sigmas, HourOfWeekName(how), v,
          b.mean, b.count));
      Annotate(a, "value", absl::StrCat(v));
      out.push_back(std::move(a));
      st.direction = 0;
      st.calm = 0;
      st.streak = 0;
      st.alert.Clear();
      continue;
    }
    if (side == 0) {
      fold_pending();  // a broken streak: its samples were normal enough after all
      st.streak = 0;
      b.Add(v);
      continue;
    }
    if (st.streak == 0 || (st.streak > 0) != (side > 0)) {
      fold_pending();
      st.streak = 0;
      st.streak_start_ms = s->time_unix_ms();
    }
    st.streak += side;
    st.pending.emplace_back(how, v);
    if (std::abs(st.streak) < options_.consecutive) continue;
    // The anomaly opens, judged against the baseline without the streak.
    st.direction = side;
    st.calm = 0;
    const double z = dev / sigma;
    v1::Alert a;
    a.set_name(kAnomalyAlert);
    a.set_source("anomaly");
    a.set_severity(v1::SEVERITY_WARNING);
    a.set_status(v1::ALERT_STATUS_FIRING);
    a.set_fingerprint(Sha256Hex(id.series).substr(0, 32));
    auto add_label = [&a](const std::string& k, const std::string& val) {
      auto* l = a.add_labels();
      l->set_name(k);
      l->set_value(val);
    };
    add_label("metric", series.name());
    add_label("direction", z > 0 ? "high" : "low");
    for (const auto& l : series.labels()) {
      if (l.name() != "metric" && l.name() != "direction") *a.add_labels() = l;
    }
    *a.mutable_resource() = series.resource();
    SetProtoTime(absl::FromUnixMillis(st.streak_start_ms), a.mutable_start_time());
    a.set_summary(absl::StrFormat(
        "%s of %s is %.6g, %.1f sigma %s its baseline for %s: mean %.6g, sigma %.6g over %d "
        "samples (threshold %g sigma, %d samples in a row)",
        series.name(), Describe(series.resource()), v, std::fabs(z), z > 0 ? "above" : "below",
        HourOfWeekName(how), b.mean, sigma, b.count, options_.sigmas, options_.consecutive));
    Annotate(a, "value", absl::StrCat(v));
    Annotate(a, "baseline_mean", absl::StrCat(b.mean));
    Annotate(a, "baseline_stddev", absl::StrCat(b.StdDev()));
    Annotate(a, "sigma", absl::StrCat(sigma));
    Annotate(a, "deviation_sigmas", absl::StrFormat("%.2f", z));
    Annotate(a, "baseline_samples", absl::StrCat(b.count));
    Annotate(a, "hour_of_week", HourOfWeekName(how));
    Annotate(a, "threshold_sigmas", absl::StrCat(options_.sigmas));
    if (!series.unit().empty()) Annotate(a, "unit", series.unit());
    st.alert = a;
    out.push_back(std::move(a));
    fold_pending();
    st.streak = 0;
  }
}

std::optional<v1::Alert> AnomalyDetector::Expire(SeriesState& st) {
  if (st.direction == 0) return std::nullopt;
  v1::Alert a = st.alert;
  a.set_status(v1::ALERT_STATUS_RESOLVED);
  SetProtoTime(absl::FromUnixMillis(st.last_ms), a.mutable_end_time());
  a.set_summary(absl::StrCat(a.summary(), " — resolved: the series stopped reporting"));
  st.direction = 0;
  st.calm = 0;
  st.streak = 0;
  st.pending.clear();
  st.alert.Clear();
  return a;
}

}  // namespace k8i::correlation
