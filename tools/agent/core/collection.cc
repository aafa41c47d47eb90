#include "tools/agent/core/collection.h"

#include "absl/strings/str_cat.h"

namespace k8i::agent {

k8intel::v1::MetricSeries& AddSample(Collection& out, const std::string& name,
                                     k8intel::v1::MetricType type, const std::string& unit,
                                     const k8intel::v1::ResourceRef& resource,
                                     const LabelList& labels, int64_t time_ms, double value) {
  k8intel::v1::MetricSeries& s = out.metrics.emplace_back();
  s.set_name(name);
  s.set_type(type);
  s.set_unit(unit);
  *s.mutable_resource() = resource;
  for (const auto& [k, v] : labels) {
    auto* l = s.add_labels();
    l->set_name(k);
    l->set_value(v);
  }
  auto* sample = s.add_samples();
  sample->set_time_unix_ms(time_ms);
  sample->set_value(value);
  return s;
}

std::string SeriesKey(const k8intel::v1::MetricSeries& s) {
  // \x1f (unit separator) cannot appear in metric or label names; values are length-prefixed
  // so no two distinct series share a key.
  std::string key = s.name();
  auto add = [&key](absl::string_view k, absl::string_view v) {
    if (v.empty()) return;
    absl::StrAppend(&key, "\x1f", k, "=", v.size(), ":", v);
  };
  const auto& r = s.resource();
  add("node", r.node_name());
  add("ns", r.namespace_name());
  add("pod", r.pod_name());
  add("container", r.container_name());
  add("wk", r.workload_kind());
  add("wn", r.workload_name());
  add("pvc", r.pvc_name());
  add("device", r.device());
  for (const auto& l : s.labels()) add(l.name(), l.value());
  return key;
}

}  // namespace k8i::agent
