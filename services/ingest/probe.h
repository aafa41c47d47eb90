// IngestProbe: ingest's Prometheus metrics in one place (batches by outcome, samples,
// duplicates, heartbeat-cache failures, in-flight work).
#pragma once

#include "libs/metrics/metrics.h"
#include "services/ingest/core/ingestor.h"

namespace k8i::ingest {

// IngestProbe is thread-safe.
class IngestProbe final : public IngestObserver {
 public:
  explicit IngestProbe(metrics::Registry& registry);
  void BatchDone(const AgentIdentity& who, absl::StatusCode code, int64_t samples,
                 bool duplicate) override;
  void HeartbeatCacheFailed(const absl::Status& status) override;

 private:
  metrics::Family<metrics::Counter>& batches_;
  metrics::Counter& samples_;
  metrics::Counter& duplicates_;
  metrics::Counter& heartbeat_failures_;
};

}  // namespace k8i::ingest
