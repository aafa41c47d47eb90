#include "tools/agent/core/anomaly.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"
#include "tools/agent/core/collection.h"

namespace k8i::agent {
namespace {

google::protobuf::Timestamp ToProto(absl::Time t) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

k8intel::v1::Alert MakeAlert(const k8intel::v1::MetricSeries& s, bool firing, absl::Time start,
                             absl::Time at) {
  k8intel::v1::Alert a;
  a.set_name("EdgeAnomaly");
  a.set_source("anomaly");
  a.set_severity(k8intel::v1::SEVERITY_WARNING);
  a.set_status(firing ? k8intel::v1::ALERT_STATUS_FIRING : k8intel::v1::ALERT_STATUS_RESOLVED);
  auto* metric = a.add_labels();
  metric->set_name("metric");
  metric->set_value(s.name());
  for (const auto& l : s.labels()) {
    if (l.name() == "metric") continue;
    *a.add_labels() = l;
  }
  if (!s.resource().device().empty()) {
    auto* d = a.add_labels();
    d->set_name("device");
    d->set_value(s.resource().device());
  }
  *a.mutable_resource() = s.resource();
  *a.mutable_start_time() = ToProto(start);
  if (!firing) *a.mutable_end_time() = ToProto(at);
  return a;
}

}  // namespace

void AnomalyDetector::Observe(const k8intel::v1::MetricSeries& series,
                              std::vector<k8intel::v1::Alert>& alerts) {
  if (series.samples().empty()) return;
  const std::string key = SeriesKey(series);
  auto it = series_.find(key);
  const absl::Time seen = absl::FromUnixMillis(series.samples(0).time_unix_ms());
  if (it == series_.end()) {
    // Sweeping is O(series); at most once a minute, and only when full.
    if (series_.size() >= options_.max_series && seen - last_sweep_ >= absl::Minutes(1)) {
      last_sweep_ = seen;
      const absl::Time cutoff = seen - options_.idle_timeout;
      absl::erase_if(series_, [cutoff](const auto& kv) { return kv.second->last_seen < cutoff; });
    }
    if (series_.size() >= options_.max_series) {
      ++untracked_;
      return;
    }
    it = series_.emplace(key, std::make_unique<State>()).first;
  }
  State& st = *it->second;
  st.last_seen = std::max(st.last_seen, seen);
  for (const auto& sample : series.samples()) {
    const double v = sample.value();
    if (!std::isfinite(v)) continue;
    const absl::Time at = absl::FromUnixMillis(sample.time_unix_ms());
    Welford& b = st.buckets[HourOfWeek(at)];
    if (b.count >= options_.warmup_samples) {
      const double sd = b.StdDev();
      const double dev = std::fabs(v - b.mean);
      const bool anomalous =
          dev > options_.sigma * sd && dev > options_.min_relative_deviation * std::fabs(b.mean);
      if (anomalous && !st.firing) {
        st.firing = true;
        st.firing_since = at;
        k8intel::v1::Alert a = MakeAlert(series, true, at, at);
        const double sigmas = sd > 0 ? dev / sd : INFINITY;
        a.set_summary(
            absl::StrFormat("%s is %g, %.1f sigma from its baseline for this hour of the week "
                            "(mean %g, stddev %g over %d samples; threshold %g sigma)",
                            series.name(), v, sigmas, b.mean, sd, b.count, options_.sigma));
        (*a.mutable_annotations())["value"] = absl::StrCat(v);
        (*a.mutable_annotations())["baseline_mean"] = absl::StrCat(b.mean);
        (*a.mutable_annotations())["baseline_stddev"] = absl::StrCat(sd);
        (*a.mutable_annotations())["sigma"] = absl::StrCat(sigmas);
        alerts.push_back(std::move(a));
      } else if (!anomalous && st.firing) {
        st.firing = false;
        k8intel::v1::Alert a = MakeAlert(series, false, st.firing_since, at);
        a.set_summary(absl::StrFormat("%s is back to %g (baseline mean %g, stddev %g)",
                                      series.name(), v, b.mean, sd));
        alerts.push_back(std::move(a));
      }
    }
    b.Add(v);
  }
}

}  // namespace k8i::agent
