#include "services/ingest/core/validate.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace k8i::ingest {
namespace {

using k8intel::v1::KubeObject;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

class Collector {
 public:
  explicit Collector(int cap) : cap_(cap) {}
  void Add(std::string field, std::string description) {
    ++result_.total_violations;
    if (static_cast<int>(result_.violations.size()) < cap_) {
      result_.violations.push_back({std::move(field), std::move(description)});
    }
  }
  ValidationResult& result() { return result_; }

 private:
  int cap_;
  ValidationResult result_;
};

bool IsNamespaced(const KubeObject& o) {
  switch (o.object_case()) {
    case KubeObject::kNode:
    case KubeObject::kNamespace:
      return false;
    default:
      return true;
  }
}

const k8intel::v1::ObjectMeta* MetaOf(const KubeObject& o) {
  switch (o.object_case()) {
    case KubeObject::kNode: return &o.node().meta();
    case KubeObject::kNamespace: return &o.namespace_().meta();
    case KubeObject::kWorkload: return &o.workload().meta();
    case KubeObject::kPod: return &o.pod().meta();
    case KubeObject::kPersistentVolumeClaim: return &o.persistent_volume_claim().meta();
    case KubeObject::kConfigMap: return &o.config_map().meta();
    case KubeObject::kTlsSecret: return &o.tls_secret().meta();
    case KubeObject::kHelmRelease: return &o.helm_release().meta();
    case KubeObject::kService: return &o.service().meta();
    case KubeObject::kSecret: return &o.secret().meta();
    case KubeObject::kPodDisruptionBudget: return &o.pod_disruption_budget().meta();
    case KubeObject::OBJECT_NOT_SET: return nullptr;
  }
  return nullptr;
}

// ValidateOneSeries checks one series' name, labels and samples; paths start at `path`.
void ValidateOneSeries(const k8intel::v1::MetricSeries& s, const std::string& path,
                       const Limits& limits, absl::Time now, Collector& c) {
  const int64_t max_ms = absl::ToUnixMillis(now + limits.future_tolerance);
  const int64_t min_ms = absl::ToUnixMillis(now - limits.retention);
  if (s.name().empty()) {
    c.Add(path + ".name", "metric name is empty");
  } else if (static_cast<int>(s.name().size()) > limits.max_metric_name_length) {
    c.Add(path + ".name", absl::StrCat("metric name is ", s.name().size(),
                                       " characters; the limit is ",
                                       limits.max_metric_name_length));
  } else if (!IsValidMetricName(s.name())) {
    c.Add(path + ".name", absl::StrCat("\"", s.name(),
                                       "\" is not a valid metric name [a-zA-Z_:][a-zA-Z0-9_:]*"));
  }
  if (s.labels_size() > limits.max_labels_per_series) {
    c.Add(path + ".labels", absl::StrCat(s.labels_size(), " labels exceed the limit of ",
                                         limits.max_labels_per_series));
  }
  absl::flat_hash_set<absl::string_view> keys;
  for (int j = 0; j < s.labels_size(); ++j) {
    const auto& l = s.labels(j);
    const std::string lpath = absl::StrCat(path, ".labels[", j, "]");
    if (l.name().empty()) {
      c.Add(lpath + ".name", "label name is empty");
    } else if (static_cast<int>(l.name().size()) > limits.max_label_name_length) {
      c.Add(lpath + ".name", absl::StrCat("label name is ", l.name().size(),
                                          " characters; the limit is ",
                                          limits.max_label_name_length));
    } else if (!IsValidLabelName(l.name())) {
      c.Add(lpath + ".name", absl::StrCat("\"", l.name(), "\" is not a valid label name"));
    } else if (!keys.insert(l.name()).second) {
      c.Add(lpath + ".name", absl::StrCat("duplicate label \"", l.name(), "\""));
    }
    if (static_cast<int>(l.value().size()) > limits.max_label_value_length) {
      c.Add(lpath + ".value", absl::StrCat("label value is ", l.value().size(),
                                           " bytes; the limit is ",
                                           limits.max_label_value_length));
    }
  }
  if (s.samples_size() == 0) c.Add(path + ".samples", "series has no samples");
  for (int k = 0; k < s.samples_size(); ++k) {
    const auto& sample = s.samples(k);
    if (!std::isfinite(sample.value())) {
      c.Add(absl::StrCat(path, ".samples[", k, "].value"),
            std::isnan(sample.value()) ? "value is NaN" : "value is infinite");
    }
    if (sample.time_unix_ms() > max_ms) {
      c.Add(absl::StrCat(path, ".samples[", k, "].time_unix_ms"),
            absl::StrCat("timestamp ", sample.time_unix_ms(), " is more than ",
                         absl::FormatDuration(limits.future_tolerance), " in the future"));
    } else if (sample.time_unix_ms() < min_ms) {
      c.Add(absl::StrCat(path, ".samples[", k, "].time_unix_ms"),
            absl::StrCat("timestamp ", sample.time_unix_ms(),
                         " is older than the retention period of ",
                         absl::FormatDuration(limits.retention)));
    }
  }
}

void ValidateMetrics(const k8intel::v1::TelemetryBatch& batch, const Limits& limits,
                     absl::Time now, Collector& c) {
  if (batch.metrics_size() > limits.max_series_per_batch) {
    c.Add("batch.metrics", absl::StrCat(batch.metrics_size(), " series exceed the limit of ",
                                        limits.max_series_per_batch, " per batch"));
  }
  int64_t samples = 0;
  for (int i = 0; i < batch.metrics_size(); ++i) {
    ValidateOneSeries(batch.metrics(i), absl::StrCat("batch.metrics[", i, "]"), limits, now, c);
    samples += batch.metrics(i).samples_size();
  }
  if (samples > limits.max_samples_per_batch) {
    c.Add("batch.metrics", absl::StrCat(samples, " samples exceed the limit of ",
                                        limits.max_samples_per_batch, " per batch"));
  }
  c.result().samples = samples;
}

void ValidateObjects(const k8intel::v1::TelemetryBatch& batch, const Limits& limits,
                     Collector& c) {
  if (batch.objects_size() > limits.max_objects_per_batch) {
    c.Add("batch.objects", absl::StrCat(batch.objects_size(), " objects exceed the limit of ",
                                        limits.max_objects_per_batch));
  }
  for (int i = 0; i < batch.objects_size(); ++i) {
    const auto& o = batch.objects(i);
    const std::string path = absl::StrCat("batch.objects[", i, "]");
    const auto* meta = MetaOf(o);
    if (meta == nullptr) {
      c.Add(path, "no object set");
      continue;
    }
    if (meta->name().empty()) c.Add(path + ".meta.name", "object name is empty");
    if (IsNamespaced(o) && meta->namespace_().empty()) {
      c.Add(path + ".meta.namespace", "namespaced object without a namespace");
    }
    if (!IsNamespaced(o) && !meta->namespace_().empty()) {
      c.Add(path + ".meta.namespace", "cluster-scoped object with a namespace");
    }
  }
}

void ValidateEventsAndAlerts(const k8intel::v1::TelemetryBatch& batch, const Limits& limits,
                             Collector& c) {
  if (batch.events_size() > limits.max_events_per_batch) {
    c.Add("batch.events", absl::StrCat(batch.events_size(), " events exceed the limit of ",
                                       limits.max_events_per_batch));
  }
  for (int i = 0; i < batch.events_size(); ++i) {
    const auto& e = batch.events(i);
    const std::string path = absl::StrCat("batch.events[", i, "]");
    if (e.uid().empty()) c.Add(path + ".uid", "event uid is empty");
    if (e.involved_object().kind().empty() || e.involved_object().name().empty()) {
      c.Add(path + ".involved_object", "involved object kind and name are required");
    }
    if (e.reason().empty()) c.Add(path + ".reason", "event reason is empty");
  }
  if (batch.alerts_size() > limits.max_alerts_per_batch) {
    c.Add("batch.alerts", absl::StrCat(batch.alerts_size(), " alerts exceed the limit of ",
                                       limits.max_alerts_per_batch));
  }
  for (int i = 0; i < batch.alerts_size(); ++i) {
    const auto& a = batch.alerts(i);
    const std::string path = absl::StrCat("batch.alerts[", i, "]");
    if (a.name().empty()) c.Add(path + ".name", "alert name is empty");
    if (a.status() == k8intel::v1::ALERT_STATUS_UNSPECIFIED) {
      c.Add(path + ".status", "alert status must be FIRING or RESOLVED");
    }
    if (!a.has_start_time()) c.Add(path + ".start_time", "alert start_time is required");
    absl::flat_hash_set<absl::string_view> keys;
    for (int j = 0; j < a.labels_size(); ++j) {
      const auto& l = a.labels(j);
      if (!IsValidLabelName(l.name())) {
        c.Add(absl::StrCat(path, ".labels[", j, "].name"),
              absl::StrCat("\"", l.name(), "\" is not a valid label name"));
      } else if (!keys.insert(l.name()).second) {
        c.Add(absl::StrCat(path, ".labels[", j, "].name"),
              absl::StrCat("duplicate label \"", l.name(), "\""));
      }
    }
  }
}

}  // namespace

bool IsValidMetricName(absl::string_view name) {
  if (name.empty()) return false;
  if (!(IsAlpha(name[0]) || name[0] == '_' || name[0] == ':')) return false;
  for (char ch : name) {
    if (!(IsAlpha(ch) || IsDigit(ch) || ch == '_' || ch == ':')) return false;
  }
  return true;
}

bool IsValidLabelName(absl::string_view name) {
  if (name.empty()) return false;
  if (!(IsAlpha(name[0]) || name[0] == '_')) return false;
  for (char ch : name) {
    if (!(IsAlpha(ch) || IsDigit(ch) || ch == '_' || ch == '.')) return false;
  }
  return true;
}

bool IsValidId(absl::string_view id, int max_length) {
  if (id.empty() || static_cast<int>(id.size()) > max_length) return false;
  for (char ch : id) {
    if (!(IsAlpha(ch) || IsDigit(ch) || ch == '.' || ch == '_' || ch == ':' || ch == '-')) {
      return false;
    }
  }
  return true;
}

ValidationResult ValidateSeries(const k8intel::v1::MetricSeries& series, const std::string& path,
                                const Limits& limits, absl::Time now) {
  Collector c(limits.max_reported_violations);
  ValidateOneSeries(series, path, limits, now, c);
  if (series.samples_size() > limits.max_samples_per_batch) {
    c.Add(path + ".samples", absl::StrCat(series.samples_size(), " samples exceed the limit of ",
                                          limits.max_samples_per_batch, " per batch"));
  }
  c.result().samples = series.samples_size();
  return std::move(c.result());
}

ValidationResult ValidateBatch(const k8intel::v1::TelemetryBatch& batch, const Limits& limits,
                               absl::Time now) {
  Collector c(limits.max_reported_violations);
  if (!IsValidId(batch.batch_id(), limits.max_batch_id_length)) {
    c.Add("batch.batch_id", absl::StrCat("batch_id must be 1..", limits.max_batch_id_length,
                                         " characters of [A-Za-z0-9._:-]"));
  }
  ValidateMetrics(batch, limits, now, c);
  ValidateObjects(batch, limits, c);
  ValidateEventsAndAlerts(batch, limits, c);
  return std::move(c.result());
}

}  // namespace k8i::ingest
