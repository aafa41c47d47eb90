// Collection: what one collection round produces — metric series, Kubernetes objects, events and
// alerts — plus helpers to append series. Collectors fill it; core/ turns it into batches.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "k8intel/v1/telemetry.pb.h"

namespace k8i::agent {

// Collection is plain data; not thread-safe.
struct Collection {
  std::vector<k8intel::v1::MetricSeries> metrics;
  std::vector<k8intel::v1::KubeObject> objects;
  std::vector<k8intel::v1::KubeEvent> events;
  std::vector<k8intel::v1::Alert> alerts;

  bool empty() const {
    return metrics.empty() && objects.empty() && events.empty() && alerts.empty();
  }
};

using LabelList = std::vector<std::pair<std::string, std::string>>;

// AddSample appends a one-sample series to `out` and returns it.
k8intel::v1::MetricSeries& AddSample(Collection& out, const std::string& name,
                                     k8intel::v1::MetricType type, const std::string& unit,
                                     const k8intel::v1::ResourceRef& resource,
                                     const LabelList& labels, int64_t time_ms, double value);

// SeriesKey returns a stable identity for a series (name, labels, resource), used to key
// per-series state such as rates and anomaly baselines.
std::string SeriesKey(const k8intel::v1::MetricSeries& s);

}  // namespace k8i::agent
