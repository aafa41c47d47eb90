// Republisher: publishes batches that were committed but never reached Kafka (the broker was
// down and the agent did not resend — its spool lost, or it went away), from the payload
// PostgreSQL kept (telemetry.unpublished_batches), then marks them published. A leader-elected
// job of the service kit. The messages carry the same CloudEvent ids as the first attempt would
// have, so a batch published twice (a resend raced the job) is applied once by every consumer.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "libs/kit/job.h"
#include "libs/metrics/metrics.h"
#include "services/ingest/core/ports.h"

namespace k8i::ingest {

class Republisher {
 public:
  // `grace`: only batches stored longer ago than this are taken (a live request may still be
  // publishing a younger one). `store` and `publisher` are borrowed.
  Republisher(BatchStore* store, Publisher* publisher, absl::Duration grace,
              metrics::Registry& registry = metrics::Registry::Default(), int page = 100);

  // Run publishes every unpublished batch older than the grace period, oldest first, until
  // none is left or the run is cancelled. Stops at the first publish failure (Kafka is still
  // down): the next run tries again. A payload that no longer parses is logged and counted, and
  // stays for an operator.
  absl::Status Run(kit::JobRun& run);

  int64_t republished() const { return republished_; }

 private:
  BatchStore* store_;
  Publisher* publisher_;
  const absl::Duration grace_;
  const int page_;
  metrics::Counter& published_;
  metrics::Counter& failed_;
  metrics::Gauge& backlog_;
  int64_t republished_ = 0;
};

}  // namespace k8i::ingest
