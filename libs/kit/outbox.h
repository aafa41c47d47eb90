// Transactional outbox: Kafka messages that a PostgreSQL transaction decides to send are
// written in that same transaction (Enqueue) and sent afterwards by a leader-elected job
// (OutboxPublisher::Run), in the order they were written, then marked published. A message is
// therefore sent only if its transaction committed, and sent again after a crash between the
// send and the mark: at-least-once, with a stable CloudEvents (source, id) that consumers — the
// kit's consumers among them — deduplicate on. Enqueueing the same (source, id) twice keeps the
// first. The service creates the table in its own migrations:
//
//   CREATE TABLE <schema>.outbox (
//     id bigserial PRIMARY KEY, topic text NOT NULL, key text NOT NULL,
//     ce_id text NOT NULL, ce_source text NOT NULL, ce_type text NOT NULL,
//     ce_time timestamptz NOT NULL, value bytea NOT NULL,
//     created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz,
//     UNIQUE (ce_source, ce_id));
//   CREATE INDEX outbox_unpublished ON <schema>.outbox (id) WHERE published_at IS NULL;
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/producer.h"
#include "libs/kit/job.h"
#include "libs/metrics/metrics.h"
#include "pqxx/pqxx"

namespace k8i::kit {

struct OutboxMessage {
  std::string topic;  // with the service's prefix
  std::string key;
  std::string value;
  kafka::CloudEvent event;
};

// Enqueue writes `m` into `<schema>.outbox` within `tx`.
void Enqueue(pqxx::work& tx, const std::string& schema, const OutboxMessage& m);

struct OutboxOptions {
  std::string schema;
  // How long one chunk may wait for Kafka's acknowledgements.
  absl::Duration timeout = absl::Seconds(30);
  // Published messages are deleted this long after publication.
  absl::Duration keep = absl::Hours(24);
  // The `name` label of the outbox's metrics.
  std::string name = "outbox";
};

class OutboxPublisher {
 public:
  // `producer` (not owned) must outlive the publisher.
  OutboxPublisher(OutboxOptions options, kafka::Producer* producer,
                  metrics::Registry& registry);

  // Run sends everything unpublished, in chunks, on the job's connection, then (at most once a
  // minute) deletes what was published more than `keep` ago.
  absl::Status Run(JobRun& run);

 private:
  const OutboxOptions options_;
  kafka::Producer* producer_;
  metrics::Counter& published_;
  metrics::Histogram& delay_;
  absl::Time last_prune_ = absl::InfinitePast();  // runs are serialized by the job
};

}  // namespace k8i::kit
