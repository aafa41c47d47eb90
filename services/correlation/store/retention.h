// Retention of correlation's history (a leader job, hourly): Kubernetes events, alert firings
// and revisions older than `history` are deleted — except each object's newest revision, which
// numbers the next one — and processed-message records older than `dedup` (a Kafka
// redelivery cannot be older than the topics' retention, 7 days by default).
#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/kit/job.h"

namespace k8i::correlation {

struct RetentionOptions {
  absl::Duration history = absl::Hours(24 * 90);
  absl::Duration dedup = absl::Hours(24 * 7);
};

absl::Status RunRetention(kit::JobRun& run, const RetentionOptions& options);

}  // namespace k8i::correlation
