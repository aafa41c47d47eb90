// OutboxPublisher: drains correlation.changes to k8i.incidents.v1. Each state change was
// written in the transaction that made it; the publisher (a leader-elected job) sends the
// unpublished ones in order — per incident by sequence number — keyed `tenant/incident`, as
// CloudEvents with id `<tenant>/<incident>/<seq>` (what consumers deduplicate on), and marks
// them published once Kafka acknowledged them. A crash between the two sends them again:
// delivery is at-least-once, effects are once by the id.
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
