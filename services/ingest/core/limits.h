// Limits: the bounds ingest enforces on one batch, configurable per deployment.
#pragma once

#include <cstdint>

#include "absl/time/time.h"

namespace k8i::ingest {

struct Limits {
  int max_series_per_batch = 20'000;
  int64_t max_samples_per_batch = 200'000;
  int max_objects_per_batch = 5'000;
  int max_events_per_batch = 5'000;
  int max_alerts_per_batch = 5'000;
  int max_labels_per_series = 64;
  int max_metric_name_length = 200;
  int max_label_name_length = 128;
  int max_label_value_length = 2'048;
  int max_batch_id_length = 128;
  // Violations reported per rejected batch; the rest are counted, not listed.
  int max_reported_violations = 100;
  // Samples may be at most this far in the future (clock skew) ...
  absl::Duration future_tolerance = absl::Minutes(10);
  // ... and no older than the retention period.
  absl::Duration retention = absl::Hours(24 * 30);
};

}  // namespace k8i::ingest
