// Ingestor: the write path of one batch — validate, admit, store durably (deduplicated by
// batch_id), publish to Kafka, mark published, touch the heartbeat — and the decision of what
// the agent must do when a step fails (fix the batch, or resend it later).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/common/clock.h"
#include "services/ingest/core/admission.h"
#include "services/ingest/core/limits.h"
#include "services/ingest/core/ports.h"

namespace k8i::ingest {

struct IngestResult {
  bool duplicate = false;
  int64_t accepted_samples = 0;
};

// Counters the Ingestor reports through; implemented by the service's metrics.
class IngestObserver {
 public:
  virtual ~IngestObserver() = default;
  virtual void BatchDone(const AgentIdentity& who, absl::StatusCode code, int64_t samples,
                         bool duplicate) {}
  virtual void HeartbeatCacheFailed(const absl::Status& status) {}
};

// Ingestor is thread-safe; it borrows its ports, which must outlive it.
class Ingestor {
 public:
  Ingestor(Limits limits, int64_t inflight_sample_budget, BatchStore* store,
           Publisher* publisher, HeartbeatCache* heartbeat, const Clock* clock,
           IngestObserver* observer = nullptr);

  // Ingest processes one batch from `who`. Errors:
  //   InvalidArgument with field violations — the batch is wrong; do not resend it;
  //   PermissionDenied — the batch names another cluster than the token's;
  //   AlreadyExists — the batch_id was used before for different content;
  //   ResourceExhausted / Unavailable with a retry delay — resend the same batch later.
  absl::StatusOr<IngestResult> Ingest(const AgentIdentity& who,
                                      const k8intel::v1::TelemetryBatch& batch);

 private:
  absl::StatusOr<IngestResult> IngestAdmitted(const AgentIdentity& who,
                                              const k8intel::v1::TelemetryBatch& batch,
                                              int64_t samples);

  const Limits limits_;
  Admission admission_;
  BatchStore* store_;
  Publisher* publisher_;
  HeartbeatCache* heartbeat_;
  const Clock* clock_;
  IngestObserver default_observer_;
  IngestObserver* observer_;
};

// RetryDelayFor: how long an agent should wait before resending after a retryable failure.
inline constexpr absl::Duration kRetryDelay = absl::Seconds(1);

}  // namespace k8i::ingest
