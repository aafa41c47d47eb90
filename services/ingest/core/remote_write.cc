#include "services/ingest/core/remote_write.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/ingest/core/prom_identity.h"
#include "services/ingest/core/validate.h"

namespace k8i::ingest {
namespace {

using k8intel::v1::MetricSeries;
using k8intel::v1::MetricType;

constexpr size_t kMaxReasons = 10;
constexpr char kNameLabel[] = "__name__";

bool IsPromLabelName(const std::string& n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// LabelError returns why the series' labels break remote_write 1.0's rules ("" when they
// don't).
std::string LabelError(const prometheus::TimeSeries& ts) {
  const std::string* prev = nullptr;
  bool has_name = false;
  for (int j = 0; j < ts.labels_size(); ++j) {
    const auto& l = ts.labels(j);
    if (l.name().empty()) return absl::StrCat("labels[", j, "] has an empty name");
    if (l.name() != kNameLabel && !IsPromLabelName(l.name())) {
      return absl::StrCat("label name \"", l.name(), "\" is not [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (prev != nullptr) {
      if (*prev == l.name()) return absl::StrCat("label \"", l.name(), "\" is repeated");
      if (*prev > l.name()) {
        return absl::StrCat("labels are not sorted by name (\"", l.name(), "\" after \"", *prev,
                            "\")");
      }
    }
    prev = &l.name();
    if (l.name() == kNameLabel) {
      has_name = true;
      if (!IsValidMetricName(l.value())) {
        return absl::StrCat("__name__ \"", l.value(), "\" is not a valid metric name");
      }
    }
  }
  if (!has_name) return "the series has no __name__ label";
  return "";
}

bool HasSuffix(const std::string& name, absl::string_view suffix) {
  return absl::EndsWith(name, suffix) && name.size() > suffix.size();
}

// Family: the metric family a series name belongs to, given the request's metadata.
MetricType TypeOf(const std::string& name,
                  const absl::flat_hash_map<std::string, prometheus::MetricMetadata::MetricType>&
                      families) {
  using M = prometheus::MetricMetadata;
  auto family = [&](absl::string_view suffix) -> const M::MetricType* {
    if (!HasSuffix(name, suffix)) return nullptr;
    auto it = families.find(name.substr(0, name.size() - suffix.size()));
    return it == families.end() ? nullptr : &it->second;
  };
  if (auto it = families.find(name); it != families.end()) {
    switch (it->second) {
      case M::COUNTER: return k8intel::v1::METRIC_TYPE_COUNTER;
      case M::HISTOGRAM:
      case M::SUMMARY:
      case M::GAUGEHISTOGRAM:  // a summary's quantiles carry the family's own name
      case M::GAUGE:
      case M::INFO:
      case M::STATESET: return k8intel::v1::METRIC_TYPE_GAUGE;
      default: break;
    }
  }
  for (absl::string_view suffix : {"_count", "_sum", "_bucket"}) {
    if (const auto* t = family(suffix)) {
      if (*t == M::HISTOGRAM || *t == M::SUMMARY) return k8intel::v1::METRIC_TYPE_COUNTER;
      if (*t == M::GAUGEHISTOGRAM) return k8intel::v1::METRIC_TYPE_GAUGE;
    }
  }
  for (absl::string_view suffix : {"_total", "_count", "_sum", "_bucket"}) {
    if (HasSuffix(name, suffix)) return k8intel::v1::METRIC_TYPE_COUNTER;
  }
  return k8intel::v1::METRIC_TYPE_GAUGE;
}

}  // namespace

bool IsStaleMarker(double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  return bits == kStaleNaNBits;
}

RemoteWriteResult MapWriteRequest(const prometheus::WriteRequest& req,
                                  const std::string& request_id, const Limits& limits,
                                  absl::Time now) {
  RemoteWriteResult out;
  absl::flat_hash_map<std::string, prometheus::MetricMetadata::MetricType> families;
  for (const auto& m : req.metadata()) families[m.metric_family_name()] = m.type();

  auto reject = [&](int i, const prometheus::TimeSeries& ts, const std::string& why) {
    ++out.rejected_series;
    out.rejected_samples += ts.samples_size();
    if (out.reasons.size() < kMaxReasons) {
      out.reasons.push_back(absl::StrCat("timeseries[", i, "]: ", why));
    }
  };
  // Batches are cut by position in the request, before anything is filtered, so each batch id
  // always covers the same input series: a resend whose filtering came out differently (the
  // clock moved a sample across the age bounds) never shifts a series into another batch.
  std::vector<k8intel::v1::TelemetryBatch> groups;
  std::vector<int> group_of(req.timeseries_size());
  {
    int series = 0;
    int64_t samples = 0;
    for (int i = 0; i < req.timeseries_size(); ++i) {
      const int n = req.timeseries(i).samples_size();
      if (groups.empty() || series >= limits.max_series_per_batch ||
          (series > 0 && samples + n > limits.max_samples_per_batch)) {
        std::string id = absl::StrCat("prw-", request_id.substr(0, 40), "-", groups.size() + 1);
        groups.emplace_back().set_batch_id(std::move(id));
        series = 0;
        samples = 0;
      }
      ++series;
      samples += n;
      group_of[i] = static_cast<int>(groups.size()) - 1;
    }
  }
  for (int i = 0; i < req.timeseries_size(); ++i) {
    const auto& ts = req.timeseries(i);
    if (ts.samples_size() == 0) {
      ++out.empty_series;
      continue;
    }
    if (std::string why = LabelError(ts); !why.empty()) {
      reject(i, ts, why);
      continue;
    }
    MetricSeries s;
    PromLabels labels;
    labels.reserve(ts.labels_size());
    for (const auto& l : ts.labels()) {
      if (l.name() == kNameLabel) {
        s.set_name(l.value());
      } else if (!l.value().empty()) {
        labels.emplace_back(l.name(), l.value());
      }
    }
    std::vector<std::string> consumed;
    *s.mutable_resource() = PromIdentity(labels, &consumed);
    for (const auto& [k, v] : labels) {
      if (std::find(consumed.begin(), consumed.end(), k) != consumed.end()) continue;
      auto* l = s.add_labels();
      l->set_name(k);
      l->set_value(v);
    }
    s.set_type(TypeOf(s.name(), families));
    int64_t stale = 0, non_finite = 0;
    for (const auto& sample : ts.samples()) {
      if (IsStaleMarker(sample.value())) {
        ++stale;
      } else if (!std::isfinite(sample.value())) {
        ++non_finite;
      } else {
        auto* p = s.add_samples();
        p->set_time_unix_ms(sample.timestamp());
        p->set_value(sample.value());
      }
    }
    if (s.samples_size() == 0) {
      out.stale_markers += stale;
      out.non_finite += non_finite;
      continue;
    }
    ValidationResult v = ValidateSeries(s, absl::StrCat("timeseries[", i, "]"), limits, now);
    if (!v.ok()) {
      std::vector<std::string> why;
      for (const auto& f : v.violations) why.push_back(absl::StrCat(f.field, ": ", f.description));
      ++out.rejected_series;
      out.rejected_samples += ts.samples_size();
      if (out.reasons.size() < kMaxReasons) out.reasons.push_back(absl::StrJoin(why, "; "));
      continue;
    }
    out.stale_markers += stale;
    out.non_finite += non_finite;
    ++out.series;
    out.samples += s.samples_size();
    *groups[group_of[i]].add_metrics() = std::move(s);
  }
  for (auto& g : groups) {
    if (g.metrics_size() > 0) out.batches.push_back(std::move(g));
  }
  return out;
}

}  // namespace k8i::ingest
