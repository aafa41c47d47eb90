// ValidateBatch: checks every item of an agent's TelemetryBatch against Limits and reports each
// offending item by its field path, so a partly invalid batch is rejected whole with reasons.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/common/field_violation.h"
#include "services/ingest/core/limits.h"

namespace k8i::ingest {

// ValidationResult lists violations (capped at limits.max_reported_violations) and the total
// number found; `samples` counts the batch's samples.
struct ValidationResult {
  std::vector<FieldViolation> violations;
  int total_violations = 0;
  int64_t samples = 0;
  bool ok() const { return total_violations == 0; }
};

// ValidateBatch is pure and thread-safe. `now` anchors the future/retention checks.
ValidationResult ValidateBatch(const k8intel::v1::TelemetryBatch& batch, const Limits& limits,
                               absl::Time now);

// ValidateSeries checks one series by the rules ValidateBatch applies to each (name, labels,
// samples, and the per-batch sample limit, which a single series must fit too), with field
// paths under `path`. Pure and thread-safe.
ValidationResult ValidateSeries(const k8intel::v1::MetricSeries& series, const std::string& path,
                                const Limits& limits, absl::Time now);

// IsValidMetricName: Prometheus metric name grammar [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsValidMetricName(absl::string_view name);
// IsValidLabelName: [a-zA-Z_][a-zA-Z0-9_.]* (Prometheus plus dots for OpenTelemetry keys).
bool IsValidLabelName(absl::string_view name);
// IsValidId: 1..max characters of [A-Za-z0-9._:-] (batch ids, cluster and tenant ids).
bool IsValidId(absl::string_view id, int max_length);

}  // namespace k8i::ingest
