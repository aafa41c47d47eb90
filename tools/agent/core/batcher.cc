#include "tools/agent/core/batcher.h"

#include "absl/strings/str_cat.h"

namespace k8i::agent {

std::string BatchIdPrefix(const std::string& node, int64_t boot_time_s) {
  std::string clean;
  for (char ch : node.substr(0, 80)) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == ':' || ch == '-';
    clean.push_back(ok ? ch : '_');
  }
  if (clean.empty()) clean = "node";
  return absl::StrCat(clean, "-", boot_time_s);
}

std::vector<k8intel::v1::TelemetryBatch> SplitIntoBatches(Collection c, const std::string& cluster,
                                                          const BatchLimits& limits) {
  std::vector<k8intel::v1::TelemetryBatch> out;
  if (c.empty()) return out;
  auto fresh = [&]() -> k8intel::v1::TelemetryBatch& {
    auto& b = out.emplace_back();
    b.set_cluster(cluster);
    return b;
  };
  k8intel::v1::TelemetryBatch* cur = &fresh();
  int64_t samples = 0;
  for (auto& s : c.metrics) {
    if (cur->metrics_size() >= limits.max_series ||
        (cur->metrics_size() > 0 && samples + s.samples_size() > limits.max_samples)) {
      cur = &fresh();
      samples = 0;
    }
    samples += s.samples_size();
    *cur->add_metrics() = std::move(s);
  }
  auto fill = [&](auto& items, auto add, auto size) {
    for (auto& item : items) {
      if (size(*cur) >= limits.max_items) cur = &fresh();
      *add(*cur) = std::move(item);
    }
  };
  using B = k8intel::v1::TelemetryBatch;
  fill(
      c.objects, [](B& b) { return b.add_objects(); }, [](B& b) { return b.objects_size(); });
  fill(
      c.events, [](B& b) { return b.add_events(); }, [](B& b) { return b.events_size(); });
  fill(
      c.alerts, [](B& b) { return b.add_alerts(); }, [](B& b) { return b.alerts_size(); });
  return out;
}

}  // namespace k8i::agent
