#include "services/ingest/core/batching.h"

#include "absl/strings/str_cat.h"

namespace k8i::ingest {

std::vector<k8intel::v1::TelemetryBatch> SplitSeries(
    google::protobuf::RepeatedPtrField<k8intel::v1::MetricSeries>&& series, const std::string& id,
    const Limits& limits) {
  std::vector<k8intel::v1::TelemetryBatch> out;
  int64_t samples = 0;
  for (auto& s : series) {
    if (out.empty() || out.back().metrics_size() >= limits.max_series_per_batch ||
        (out.back().metrics_size() > 0 &&
         samples + s.samples_size() > limits.max_samples_per_batch)) {
      out.emplace_back();
      samples = 0;
    }
    samples += s.samples_size();
    *out.back().add_metrics() = std::move(s);
  }
  series.Clear();
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].set_batch_id(out.size() == 1 ? id : absl::StrCat(id, "-", i + 1));
  }
  return out;
}

}  // namespace k8i::ingest
