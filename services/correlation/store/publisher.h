// OutboxPublisher: drains correlation.incident_events to k8i.incidents.v1. Each state change's
// event was written in the transaction that made the change; the publisher (a leader-elected
// job) sends them in order — per incident by sequence number — keyed `tenant/incident`, as
// CloudEvents with id `<tenant>/<incident>/<seq>` (what consumers deduplicate on), and deletes
// them once Kafka acknowledged them. A crash between the two sends them again: delivery is
// at-least-once, effects are once by the id.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "libs/kafka/producer.h"
#include "libs/kit/job.h"
#include "libs/metrics/metrics.h"

namespace k8i::correlation {

class OutboxPublisher {
 public:
  // `producer` (not owned) must outlive the publisher.
  OutboxPublisher(kafka::Producer* producer, std::string topic, absl::Duration timeout,
                  metrics::Registry& registry);

  // Run publishes everything unpublished, in chunks, on the job's connection.
  absl::Status Run(kit::JobRun& run);

 private:
  kafka::Producer* producer_;
  const std::string topic_;
  const absl::Duration timeout_;
  metrics::Counter& published_;
  metrics::Histogram& delay_;
};

// The CloudEvents type and source of incident events.
inline constexpr char kIncidentEventType[] = "k8intel.v1.IncidentEvent";
inline constexpr char kIncidentEventSource[] = "k8i-correlation";

}  // namespace k8i::correlation
